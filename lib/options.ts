// Engine options with socket.io's names and defaults; resolveEngineOptions() validates once and freezes.
import type { IncomingMessage } from 'node:http';
import { SocketIOError } from './errors';
import { createDefaultLogger, type Logger } from './logger';

export type TransportName = 'polling' | 'websocket';

/** Settings of the cookie set on the polling handshake response (for sticky load balancers). */
export interface CookieOptions {
  /** @default 'io' */
  name?: string;
  /** @default '/' */
  path?: string;
  /** @default true */
  httpOnly?: boolean;
  /** @default 'lax' */
  sameSite?: 'strict' | 'lax' | 'none' | boolean;
  /** Seconds. */
  maxAge?: number;
  domain?: string;
  secure?: boolean;
}

/** `callback(errorMessage, allowed)`, as in engine.io: a refusal answers 403 with the message. */
export type AllowRequest = (
  req: IncomingMessage,
  callback: (err: string | null | undefined, success: boolean) => void,
) => void;

export interface EngineOptions {
  /** Resource path under the mount point, with its trailing slash. @default '/engine.io/' ('/socket.io/' for socketio()) */
  path?: string;
  /** ms between server pings. @default 25000 */
  pingInterval?: number;
  /** ms the client has to answer a ping. @default 20000 */
  pingTimeout?: number;
  /** ms a polling → WebSocket upgrade may take. @default 10000 */
  upgradeTimeout?: number;
  /** Largest message or polling POST body, bytes. @default 1e6 */
  maxHttpBufferSize?: number;
  /** Enabled transports. @default ['polling', 'websocket'] */
  transports?: TransportName[];
  /** Whether polling sessions may upgrade to WebSocket. @default true */
  allowUpgrades?: boolean;
  /** Hook run on every handshake, over every transport (the seed's SetAuthorization). */
  allowRequest?: AllowRequest;
  /** Set a cookie holding the sid on the polling handshake. @default false */
  cookie?: boolean | CookieOptions;
  /** Compress polling responses of at least `threshold` bytes. @default { threshold: 1024 } */
  httpCompression?: boolean | { threshold?: number };
  /** permessage-deflate for WebSocket, passed to ws. @default false */
  perMessageDeflate?: boolean | Record<string, unknown>;
  /**
   * Origins allowed to talk to the server, e.g. ['https://app.example', 'http://localhost:*'], or '*'.
   * Requests without an Origin header and same-origin requests are always allowed.
   * @default [] (same-origin only)
   */
  origins?: string[] | '*';
  /** A pino logger (or anything with its level methods and child). @default pino at 'warn' */
  logger?: Logger;
  /** Sessions the server holds at once (the seed's MaxConnections); 0 = no cap. Over it: 503. @default 0 */
  maxConnections?: number;
  /** Sessions one remote address may hold at once; 0 = no cap. Over it: 429. @default 0 */
  maxConnectionsPerAddress?: number;
  /** Handshakes one remote address may make per second (burst: twice that); 0 = no cap. Over it: 429. @default 0 */
  maxHandshakesPerSecond?: number;
  /**
   * Inbound budget of each session (token bucket, refilled continuously; the burst is twice the rate).
   * Every packet counts, pings and pongs and WebSocket control frames too. `false` turns it off.
   * @default { packetsPerSecond: 5000, bytesPerSecond: 4 MiB }
   */
  inboundRate?: false | { packetsPerSecond?: number; bytesPerSecond?: number };
  /** Refuse requests for a session from another remote address than the one that created it. @default true */
  bindSessionToAddress?: boolean;
  /** Longest query string accepted, in characters. @default 4096 */
  maxQueryLength?: number;
  /** ms a polling POST body may take to arrive. @default 10000 */
  bodyTimeout?: number;
  /**
   * Route every polling request of a session through the app's middleware. By default only the
   * handshake (and WebSocket upgrades) go through the app: a session's follow-up GET/POST requests at
   * the same path are answered before the app's router (with the headers the app set on the handshake
   * answer), which costs a quarter of the CPU. Set true when middleware must see every poll (per-request
   * logging, a rate limiter counting polls). See docs/express.md. @default false
   */
  pollingThroughApp?: boolean;
}

export interface ResolvedEngineOptions {
  readonly path: string;
  readonly pingInterval: number;
  readonly pingTimeout: number;
  readonly upgradeTimeout: number;
  readonly maxHttpBufferSize: number;
  readonly transports: readonly TransportName[];
  readonly allowUpgrades: boolean;
  readonly allowRequest: AllowRequest | undefined;
  readonly cookie: Readonly<Required<Omit<CookieOptions, 'maxAge' | 'domain' | 'secure'>> & CookieOptions> | undefined;
  readonly compressionThreshold: number | undefined;
  readonly perMessageDeflate: boolean | Record<string, unknown>;
  readonly origins: readonly string[] | '*';
  readonly logger: Logger;
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly maxHandshakesPerSecond: number;
  readonly inboundRate: Readonly<{ packetsPerSecond: number; bytesPerSecond: number }> | undefined;
  readonly bindSessionToAddress: boolean;
  readonly maxQueryLength: number;
  readonly bodyTimeout: number;
  readonly pollingThroughApp: boolean;
}

const KNOWN_TRANSPORTS: readonly TransportName[] = ['polling', 'websocket'];

function nonNegativeInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new SocketIOError('ERR_INVALID_OPTION', name, 'an integer >= 0', String(value));
  }
  return value;
}

function positiveInt(name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new SocketIOError('ERR_INVALID_OPTION', name, 'a positive integer', String(value));
  }
  return value;
}

function resolvePath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/')) {
    throw new SocketIOError('ERR_INVALID_OPTION', 'path', 'a string starting with "/"', String(value));
  }
  return value.endsWith('/') ? value : `${value}/`;
}

// RFC 6265: a cookie name is a token; attribute values may hold neither `;` nor control characters
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const COOKIE_ATTRIBUTE = /^[\u0021-\u003a\u003c-\u007e]+$/;
const SAME_SITE: ReadonlyArray<CookieOptions['sameSite']> = ['strict', 'lax', 'none', true, false];

/** The cookie option over its defaults, checked so that nothing in it can break the Set-Cookie header. */
function resolveCookie(input: true | CookieOptions): ResolvedEngineOptions['cookie'] {
  const cookie = { name: 'io', path: '/', httpOnly: true, sameSite: 'lax' as CookieOptions['sameSite'], ...(input === true ? {} : input) };
  if (typeof cookie.name !== 'string' || !COOKIE_NAME.test(cookie.name)) {
    throw new SocketIOError('ERR_INVALID_OPTION', 'cookie.name', 'a cookie name token', String(cookie.name));
  }
  for (const key of ['path', 'domain'] as const) {
    const value = cookie[key];
    if (value !== undefined && value !== '' && (typeof value !== 'string' || !COOKIE_ATTRIBUTE.test(value))) {
      throw new SocketIOError('ERR_INVALID_OPTION', `cookie.${key}`, 'printable text without ";"', JSON.stringify(value));
    }
  }
  if (!SAME_SITE.includes(typeof cookie.sameSite === 'string' ? (cookie.sameSite.toLowerCase() as 'lax') : cookie.sameSite)) {
    throw new SocketIOError('ERR_INVALID_OPTION', 'cookie.sameSite', "'strict', 'lax', 'none' or a boolean", String(cookie.sameSite));
  }
  if (cookie.maxAge !== undefined && (typeof cookie.maxAge !== 'number' || !Number.isFinite(cookie.maxAge))) {
    throw new SocketIOError('ERR_INVALID_OPTION', 'cookie.maxAge', 'a number of seconds', String(cookie.maxAge));
  }
  return Object.freeze(cookie) as ResolvedEngineOptions['cookie'];
}

/** Validates the engine's options once; nothing reads the caller's object afterwards. */
export function resolveEngineOptions(input: EngineOptions = {}, defaultPath = '/engine.io/'): ResolvedEngineOptions {
  const transports = input.transports ?? KNOWN_TRANSPORTS;
  if (!Array.isArray(transports) || transports.length === 0 || transports.some((t) => !KNOWN_TRANSPORTS.includes(t))) {
    throw new SocketIOError('ERR_INVALID_OPTION', 'transports', 'a non-empty list of "polling" / "websocket"', String(transports));
  }
  const origins = input.origins ?? [];
  if (origins !== '*' && (!Array.isArray(origins) || origins.some((o) => typeof o !== 'string'))) {
    throw new SocketIOError('ERR_INVALID_OPTION', 'origins', "'*' or a list of origin strings", String(origins));
  }
  if (input.allowRequest !== undefined && typeof input.allowRequest !== 'function') {
    throw new SocketIOError('ERR_INVALID_OPTION', 'allowRequest', 'a function', typeof input.allowRequest);
  }
  const compression = input.httpCompression ?? true;
  let compressionThreshold: number | undefined;
  if (compression === true) compressionThreshold = 1024;
  else if (compression && typeof compression === 'object') compressionThreshold = compression.threshold ?? 1024;
  const cookie = input.cookie ? resolveCookie(input.cookie) : undefined;
  if (input.pollingThroughApp !== undefined && typeof input.pollingThroughApp !== 'boolean') {
    throw new SocketIOError('ERR_INVALID_OPTION', 'pollingThroughApp', 'a boolean', String(input.pollingThroughApp));
  }
  return Object.freeze({
    path: resolvePath(input.path ?? defaultPath),
    pingInterval: positiveInt('pingInterval', input.pingInterval ?? 25000),
    pingTimeout: positiveInt('pingTimeout', input.pingTimeout ?? 20000),
    upgradeTimeout: positiveInt('upgradeTimeout', input.upgradeTimeout ?? 10000),
    maxHttpBufferSize: positiveInt('maxHttpBufferSize', input.maxHttpBufferSize ?? 1e6),
    transports: Object.freeze([...transports]),
    allowUpgrades: input.allowUpgrades ?? true,
    allowRequest: input.allowRequest,
    cookie,
    compressionThreshold,
    perMessageDeflate: input.perMessageDeflate ?? false,
    origins: origins === '*' ? '*' : Object.freeze([...origins]),
    logger: input.logger ?? createDefaultLogger('express-socket.io'),
    maxConnections: nonNegativeInt('maxConnections', input.maxConnections ?? 0),
    maxConnectionsPerAddress: nonNegativeInt('maxConnectionsPerAddress', input.maxConnectionsPerAddress ?? 0),
    maxHandshakesPerSecond: nonNegativeInt('maxHandshakesPerSecond', input.maxHandshakesPerSecond ?? 0),
    inboundRate:
      input.inboundRate === false
        ? undefined
        : Object.freeze({
            packetsPerSecond: positiveInt('inboundRate.packetsPerSecond', input.inboundRate?.packetsPerSecond ?? 5000),
            bytesPerSecond: positiveInt('inboundRate.bytesPerSecond', input.inboundRate?.bytesPerSecond ?? 4 * 1024 * 1024),
          }),
    bindSessionToAddress: input.bindSessionToAddress ?? true,
    maxQueryLength: positiveInt('maxQueryLength', input.maxQueryLength ?? 4096),
    bodyTimeout: positiveInt('bodyTimeout', input.bodyTimeout ?? 10000),
    pollingThroughApp: input.pollingThroughApp ?? false,
  });
}
