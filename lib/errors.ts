// The code table: every refusal and fault has one ERR_ code, made here and mapped to its wire answers.
import { format } from 'node:util';

/**
 * Engine.IO error codes as the official server sends them in `{"code":N,"message":"..."}` bodies.
 * (engine.io lib/server.ts `Server.errors`, ../shared/PROTOCOL.md §1.9)
 */
export const EngineErrorCode = {
  UNKNOWN_TRANSPORT: 0,
  UNKNOWN_SID: 1,
  BAD_HANDSHAKE_METHOD: 2,
  BAD_REQUEST: 3,
  FORBIDDEN: 4,
  UNSUPPORTED_PROTOCOL_VERSION: 5,
} as const;
export type EngineErrorCode = (typeof EngineErrorCode)[keyof typeof EngineErrorCode];

/** The exact messages of the official server for each Engine.IO error code. */
export const ENGINE_ERROR_MESSAGES: Record<EngineErrorCode, string> = {
  0: 'Transport unknown',
  1: 'Session ID unknown',
  2: 'Bad handshake method',
  3: 'Bad request',
  4: 'Forbidden',
  5: 'Unsupported protocol version',
};

interface CodeEntry {
  /** printf-style template for the message. */
  readonly message: string;
  /** HTTP status when the refusal answers an HTTP request. */
  readonly http?: number;
  /** WebSocket close code when the refusal closes a WebSocket. */
  readonly wsClose?: number;
  /** Engine.IO error code for the JSON body, when there is one. */
  readonly eio?: EngineErrorCode;
}

/**
 * Every error code of the package. Documented in docs/errors.md; a spec keeps the two in step.
 */
export const ERROR_CODES = {
  ERR_INVALID_OPTION: { message: 'option "%s" must be %s, got %s' },
  ERR_UNKNOWN_TRANSPORT: { message: 'Transport unknown', http: 400, eio: 0 },
  ERR_UNKNOWN_SID: { message: 'Session ID unknown', http: 400, eio: 1 },
  ERR_BAD_HANDSHAKE_METHOD: { message: 'Bad handshake method', http: 400, eio: 2 },
  ERR_BAD_REQUEST: { message: 'Bad request: %s', http: 400, eio: 3 },
  ERR_FORBIDDEN: { message: 'request refused by allowRequest: %s', http: 403, eio: 4 },
  ERR_UNSUPPORTED_PROTOCOL: { message: 'Unsupported protocol version', http: 400, eio: 5 },
  ERR_ORIGIN_REFUSED: { message: 'origin %s is not allowed', http: 403, eio: 4 },
  ERR_PAYLOAD_TOO_LARGE: { message: '%s bytes over the %d-byte limit', http: 413, wsClose: 1009 },
  ERR_BAD_PACKET: { message: 'malformed packet: %s', http: 400, wsClose: 1002 },
  ERR_TRANSPORT_OVERLAP: { message: 'overlapping %s requests for one session', http: 400 },
  ERR_UPGRADE_REFUSED: { message: 'upgrade refused: %s', http: 400 },
  ERR_SERVER_CLOSING: { message: 'server is closing', http: 503 },
  ERR_TOO_MANY_CONNECTIONS: { message: '%s: %d sessions, limit %d', http: 503, eio: 3 },
  ERR_TOO_MANY_HANDSHAKES: { message: 'more than %d handshakes per second from %s', http: 429, eio: 3 },
  ERR_RATE_LIMITED: { message: 'inbound %s over %d per second', wsClose: 1008 },
  ERR_QUERY_TOO_LONG: { message: 'query string of %d characters, limit %d', http: 400, eio: 3 },
  ERR_ADDRESS_MISMATCH: { message: 'session used from another address', http: 400, eio: 1 },
  ERR_BODY_TIMEOUT: { message: 'request body did not arrive within %d ms', http: 408 },
  ERR_UNSUPPORTED_ENCODING: { message: 'Content-Encoding %s is not supported', http: 415 },
  ERR_DESTROYED: { message: 'the session has ended: nothing more can be sent on it' },
  ERR_QUEUE_FULL: { message: 'the send queue is full: wait for the socket\'s "drain" event' },
  ERR_SLOW_CONSUMER: { message: 'the client does not read what it is sent (queue over its bound)', wsClose: 1008 },
} as const satisfies Record<string, CodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error carrying one of the package's codes. */
export class SocketIOError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, ...args: unknown[]) {
    super(format(ERROR_CODES[code].message, ...args));
    this.code = code;
    this.name = 'SocketIOError';
  }
}

/** The table entry of a code, with its HTTP / WebSocket / Engine.IO numbers. */
export function describeCode(code: ErrorCode): CodeEntry {
  return ERROR_CODES[code];
}
