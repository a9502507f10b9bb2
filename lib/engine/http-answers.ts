// The exact bytes the official server answers with: Engine.IO JSON errors, raw upgrade refusals.
import type { OutgoingHttpHeader, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ENGINE_ERROR_MESSAGES, type EngineErrorCode } from '../errors';

/**
 * Set on a response by the layer above (express/early-polling.ts) with headers the app would have set on
 * it: every answer of ours merges them into its writeHead() object (its own headers win, as writeHead's
 * win over setHeader's), which spares Node's setHeader() path. Lower-case names, never a content,
 * hop-by-hop or CORS-computed header.
 */
export const kAnswerHeaders = Symbol('expressSocketIo.answerHeaders');

/** The headers `kAnswerHeaders` holds. */
export type AnswerHeaders = Readonly<Record<string, OutgoingHttpHeader>>;

/** `own` (mutated) with the response's `kAnswerHeaders` added where it has none of that name. */
export function withAnswerHeaders(res: ServerResponse, own: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const extra = (res as { [kAnswerHeaders]?: AnswerHeaders })[kAnswerHeaders];
  if (extra === undefined) return own;
  for (const name in extra) if (own[name] === undefined) own[name] = extra[name];
  return own;
}

/** Polling error answer: status, `Content-Type: application/json`, chunked `{"code":N,"message":"..."}`. */
export function answerEngineError(
  res: ServerResponse,
  code: EngineErrorCode,
  message = ENGINE_ERROR_MESSAGES[code],
  status: number = code === 4 ? 403 : 400,
): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  res.writeHead(status, withAnswerHeaders(res, { 'Content-Type': 'application/json' }));
  res.end(JSON.stringify({ code, message }));
}

/** An empty answer with only a status, as the official server gives for overlapping polls. */
export function answerEmpty(res: ServerResponse, status: number, headers?: Record<string, string>): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  res.writeHead(status, withAnswerHeaders(res, { ...headers }));
  res.end();
}

const STATUS_LINES: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 429: 'Too Many Requests', 503: 'Service Unavailable' };

/**
 * Refuses a WebSocket upgrade on the raw socket, byte for byte like engine.io's abortUpgrade
 * (status 400 whatever the code; 403 only for our origin refusals), then destroys the socket.
 */
export function abortUpgrade(socket: Duplex, message: string, status = 400): void {
  socket.on('error', ignoreError);
  if (socket.writable) {
    const length = Buffer.byteLength(message);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_LINES[status] ?? 'Bad Request'}\r\n` +
        'Connection: close\r\n' +
        'Content-type: text/html\r\n' +
        `Content-Length: ${length}\r\n` +
        '\r\n' +
        message,
    );
  }
  socket.destroy();
}

function ignoreError(): void {
  // the peer is being turned away; its socket errors are of no interest
}
