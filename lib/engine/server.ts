// The Engine.IO server: verify each request (origin, transport, sid), handshake, hand it to its transport.
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type ServerOptions, type WebSocket } from 'ws';
import { ENGINE_ERROR_MESSAGES, EngineErrorCode, type ErrorCode } from '../errors';
import { LazyChildLogger, type Logger } from '../logger';
import type { ResolvedEngineOptions, TransportName } from '../options';
import { generateId, ID_LENGTH, isValidIdShape } from '../util/ids';
import { LogThrottle } from '../util/log-throttle';
import { abortUpgrade, answerEngineError } from './http-answers';
import { JsonpTransport } from './jsonp';
import { answerPreflight, OriginPolicy, OriginVerdict, setCorsHeaders } from './origins';
import { PollingTransport, type PollingOptions } from './polling';
import { EngineSocket, type SessionHost } from './session';
import { sharedTimerWheel, type TimerWheel } from '../util/timer-wheel';
import { serializeCookie } from './cookie';
import { Admission } from './admission';
import { WebSocketTransport, type WebSocketTransportOptions } from './websocket';

/** Passed with every `connection_error`: what was refused and why. */
export interface ConnectionErrorEvent {
  req: IncomingMessage;
  code: EngineErrorCode;
  message: string;
  context: Record<string, unknown>;
}

export interface EngineServerEvents {
  connection: [socket: EngineSocket];
  connection_error: [event: ConnectionErrorEvent];
  /** close() was called: every session is closing, new handshakes are refused. */
  close: [];
}

/** What the Express layer adds to an upgrade: headers the app set, and a hook once the 101 is out. */
export interface UpgradeContext {
  /** Extra headers for the 101 answer (e.g. set by the app's middleware on `res`). */
  readonly headers?: readonly string[];
  /** Called after the 101 was written, with the WebSocket. */
  readonly onUpgraded?: () => void;
  /** Called when the upgrade was refused, with the status written on the raw socket. */
  readonly onRefused?: (status: number) => void;
  /** Called right before ws takes the socket (to detach it from the HTTP server's parser). */
  readonly beforeUpgrade?: () => void;
}

interface Verdict {
  code: EngineErrorCode;
  /** HTTP status when it is not the code's usual one. */
  status?: number;
  errorCode: ErrorCode;
  message?: string;
  context?: Record<string, unknown>;
  /** An unknown sid shaped like the ids nodes make: maybe another node's (logged throttled, with the hint). */
  foreignSid?: boolean;
}

/** What the unknown-sid line says when the sid may be another node's (issue 9). */
export const FOREIGN_SID_HINT = 'the sid may belong to another node: sticky sessions needed, see docs/scaling.md';
/** At most one unknown-sid line per this many ms: a misrouting load balancer repeats it for every request. */
const FOREIGN_SID_LOG_INTERVAL_MS = 10000;

/** Engine.IO v4 server: sessions by sid, polling, JSONP and WebSocket, the upgrade between them. */
export class EngineServer extends EventEmitter<EngineServerEvents> implements SessionHost {
  readonly opts: ResolvedEngineOptions;
  readonly clients = new Map<string, EngineSocket>();
  private readonly log: Logger;
  private readonly origins: OriginPolicy;
  private readonly wss: WebSocketServer;
  private readonly admission: Admission;
  private readonly foreignSids = new LogThrottle(FOREIGN_SID_LOG_INTERVAL_MS);
  private closing = false;
  /** Refusals and faults by code, since start: what the logs say, as numbers. */
  readonly metrics: Partial<Record<ErrorCode, number>> = {};
  /** Drives every session's heartbeat and upgrade timeout (one Node timer, shared with other servers). */
  readonly wheel: TimerWheel;
  /** Options of every WebSocket transport: [binary as binary, binary as base64 text (`b64`)]. */
  private readonly wsTransportOptions: readonly [WebSocketTransportOptions, WebSocketTransportOptions];

  constructor(opts: ResolvedEngineOptions) {
    super();
    this.opts = opts;
    this.log = opts.logger;
    this.origins = new OriginPolicy(opts.origins);
    this.admission = new Admission(opts);
    // a refused message is logged for the session its transport carries (or was probed for)
    const onPayloadTooLarge = (size: number | string, limit: number, transport: WebSocketTransport): void => {
      const session = transport.handler instanceof EngineSocket ? transport.handler : undefined;
      this.logTooLarge(session?.id, session?.request, size, limit);
    };
    const transportOptions = (base64: boolean): WebSocketTransportOptions => Object.freeze({ maxHttpBufferSize: opts.maxHttpBufferSize, base64, onPayloadTooLarge });
    this.wsTransportOptions = [transportOptions(false), transportOptions(true)];
    this.wheel = sharedTimerWheel(Math.min(opts.pingInterval, opts.pingTimeout, opts.upgradeTimeout));
    const wsOptions: ServerOptions & { closeTimeout?: number; maxFragments?: number } = {
      noServer: true,
      clientTracking: false,
      maxPayload: opts.maxHttpBufferSize,
      perMessageDeflate: opts.perMessageDeflate,
      // pings are answered by the session, which counts them against the inbound budget and will not
      // queue pongs for a peer that does not read them
      autoPong: false,
      // (options of recent ws; an older one ignores them) a peer that does not answer our close frame within pingTimeout
      // is as dead as one that misses a pong: destroyed then, not after 30 s (half-open sockets stay bounded);
      // and a message may come in at most 16 Ki fragments (1M tiny continuation frames end at 16 Ki)
      closeTimeout: Math.min(30000, opts.pingTimeout),
      maxFragments: 16 * 1024,
    };
    this.wss = new WebSocketServer(wsOptions);
    // the sessions never read this error: ws reports it to the WebSocket instead
    this.wss.on('error', () => {});
  }

  get clientsCount(): number {
    return this.clients.size;
  }

  /** Handles an HTTP request (not an upgrade) addressed to the engine path. */
  handleRequest(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const verdict = this.origins.check(req);
    if (verdict === OriginVerdict.REFUSED) {
      this.refuseOrigin(req, query);
      answerEngineError(res, EngineErrorCode.FORBIDDEN, 'Origin not allowed');
      return;
    }
    setCorsHeaders(req, res, verdict);
    // only an allowed cross-origin OPTIONS is a preflight; any other goes through verify like the official
    // server without CORS (400 code 2 without sid; code 3 instead of its 500 with one)
    if (req.method === 'OPTIONS' && verdict === OriginVerdict.ALLOWED) {
      answerPreflight(req, res);
      return;
    }
    const sid = query.get('sid');
    if (sid) {
      // a session's polls are judged at once: no callback (and no closure) per request (issue 8)
      const refusal = this.checkQuery(req, query) ?? this.checkSession(req, query, sid, false);
      if (refusal) {
        this.emitRefusal(req, refusal);
        answerEngineError(res, refusal.code, refusal.message, refusal.status);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'POST') {
        // the official server answers a bare 500 here; a client's mistake is a 400 (docs/engine.md)
        const badMethod: Verdict = { code: EngineErrorCode.BAD_REQUEST, errorCode: 'ERR_BAD_REQUEST', context: { name: 'BAD_METHOD', sid } };
        this.emitRefusal(req, badMethod);
        answerEngineError(res, badMethod.code);
        return;
      }
      ((this.clients.get(sid) as EngineSocket).transport as PollingTransport).onRequest(req, res);
      return;
    }
    this.verify(req, query, false, (refusal) => {
      if (refusal) {
        this.emitRefusal(req, refusal);
        answerEngineError(res, refusal.code, refusal.message, refusal.status);
        return;
      }
      this.handshakePolling(req, res, query);
    });
  }

  /** Handles a WebSocket upgrade addressed to the engine path; `socket` is no longer parsed as HTTP. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, query: URLSearchParams, ctx: UpgradeContext = {}): void {
    socket.on('error', onEarlySocketError);
    const refuse = (message: string, status = 400): void => {
      ctx.onRefused?.(status);
      abortUpgrade(socket, message, status);
    };
    if (this.origins.check(req) === OriginVerdict.REFUSED) {
      this.refuseOrigin(req, query);
      refuse('Origin not allowed', 403);
      return;
    }
    this.verify(req, query, true, (refusal) => {
      if (refusal) {
        this.emitRefusal(req, refusal);
        refuse(refusal.message ?? ENGINE_ERROR_MESSAGES[refusal.code], refusal.status === 503 || refusal.status === 429 ? refusal.status : 400);
        return;
      }
      const sid = query.get('sid');
      const session = sid ? this.clients.get(sid) : undefined;
      if (sid && (!session || !session.canUpgrade())) {
        // one WebSocket per session: no second upgrade, no takeover of a WebSocket session
        this.logUpgradeRefused(req, sid, session ? session.transport.name : 'closed');
        refuse(ENGINE_ERROR_MESSAGES[EngineErrorCode.BAD_REQUEST]);
        return;
      }
      if (query.get('transport') !== 'websocket') {
        this.logUpgradeRefused(req, sid ?? undefined, query.get('transport'));
        refuse(ENGINE_ERROR_MESSAGES[EngineErrorCode.BAD_REQUEST]);
        return;
      }
      if (ctx.headers && ctx.headers.length > 0) {
        const extra = ctx.headers;
        this.wss.once('headers', (headers) => headers.push(...extra));
      }
      ctx.beforeUpgrade?.();
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        socket.removeListener('error', onEarlySocketError);
        ctx.onUpgraded?.();
        this.onWebSocket(req, socket, ws, query, session);
      });
    });
  }

  private onWebSocket(req: IncomingMessage, raw: Duplex, ws: WebSocket, query: URLSearchParams, session: EngineSocket | undefined): void {
    const id = session ? session.id : generateId();
    // shared options (text or base64 binary): an open WebSocket holds no options object or closure of its own
    const transport = new WebSocketTransport(ws, raw, this.wsTransportOptions[query.get('b64') !== null ? 1 : 0]);
    if (session) {
      if (!session.canUpgrade()) {
        transport.close();
        return;
      }
      session.beginUpgrade(transport);
      return;
    }
    if (this.closing) {
      transport.close();
      return;
    }
    this.createSession(transport, req, id);
  }

  private handshakePolling(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
    const id = generateId();
    const pollingOpts: PollingOptions = {
      maxHttpBufferSize: this.opts.maxHttpBufferSize,
      compressionThreshold: this.opts.compressionThreshold,
      onPayloadTooLarge: (size, limit) => this.logTooLarge(id, req, size, limit),
      bodyTimeout: this.opts.bodyTimeout,
      closeTimeout: Math.min(30000, this.opts.pingTimeout),
      onUnsupportedEncoding: (encoding) => {
        this.count('ERR_UNSUPPORTED_ENCODING');
        this.log.warn({ code: 'ERR_UNSUPPORTED_ENCODING', sid: id, remoteAddress: remoteAddressOf(req), value: encoding.slice(0, 64) }, 'request refused');
      },
      onBodyTimeout: (timeout) => {
        this.count('ERR_BODY_TIMEOUT');
        this.log.warn({ code: 'ERR_BODY_TIMEOUT', sid: id, remoteAddress: remoteAddressOf(req), limit: timeout }, 'request body too slow');
      },
    };
    const j = query.get('j');
    const transport = j === null ? new PollingTransport(pollingOpts) : new JsonpTransport(pollingOpts, j);
    if (this.opts.cookie) res.setHeader('Set-Cookie', serializeCookie(this.opts.cookie.name, id, this.opts.cookie));
    const session = this.createSession(transport, req, id);
    transport.onRequest(req, res);
    this.emit('connection', session);
  }

  private createSession(transport: PollingTransport | WebSocketTransport, req: IncomingMessage, id = generateId()): EngineSocket {
    const remoteAddress = remoteAddressOf(req);
    // built on the session's first written line: at the default level most sessions never need one
    const log = new LazyChildLogger(this.log, { sid: id, transport: transport.name, remoteAddress });
    // the response, Express's `next` (its routing context, the response's header string) and parseurl's
    // cached Url objects need not live as long as the session: they are most of an idle connection's heap
    // otherwise (set to undefined, not deleted: a delete would turn the request into a dictionary object)
    const routed = req as { res?: unknown; next?: unknown; _parsedUrl?: unknown; _parsedOriginalUrl?: unknown };
    routed.res = undefined;
    routed.next = undefined;
    if (routed._parsedUrl !== undefined) routed._parsedUrl = undefined;
    if (routed._parsedOriginalUrl !== undefined) routed._parsedOriginalUrl = undefined;
    const session = new EngineSocket(id, transport, req, remoteAddress, this.opts, log, this);
    this.clients.set(id, session);
    this.admission.opened(remoteAddress);
    session.open();
    log.debug('session opened');
    if (transport.name === 'websocket') this.emit('connection', session);
    return session;
  }

  /** @internal a session ended (called by the session, before its `close` listeners) */
  sessionClosed(session: EngineSocket): void {
    this.clients.delete(session.id);
    this.admission.closed(session.remoteAddress);
  }

  /** What every request is checked for first: the query's length, then a known transport. */
  private checkQuery(req: IncomingMessage, query: URLSearchParams): Verdict | undefined {
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const queryLength = url.length - q - 1;
    if (q !== -1 && queryLength > this.opts.maxQueryLength) {
      return { code: EngineErrorCode.BAD_REQUEST, errorCode: 'ERR_QUERY_TOO_LONG', context: { size: queryLength, limit: this.opts.maxQueryLength } };
    }
    const transport = query.get('transport');
    if (!transport || !this.opts.transports.includes(transport as TransportName)) {
      return { code: EngineErrorCode.UNKNOWN_TRANSPORT, errorCode: 'ERR_UNKNOWN_TRANSPORT', context: { transport } };
    }
    return undefined;
  }

  /** A request for an existing session (after checkQuery): a live sid, its address, transport and revision. */
  private checkSession(req: IncomingMessage, query: URLSearchParams, sid: string, upgrade: boolean): Verdict | undefined {
    const shaped = isValidIdShape(sid);
    const session = shaped ? this.clients.get(sid) : undefined;
    if (!session) {
      // 20 characters: what this server and socket.io's base64id make, so likely a live session elsewhere
      return { code: EngineErrorCode.UNKNOWN_SID, errorCode: 'ERR_UNKNOWN_SID', context: { sid: shaped ? sid : 'malformed' }, foreignSid: shaped && sid.length === ID_LENGTH };
    }
    // the sid is in every URL: it must not let another address talk for the session (trust proxy aware)
    if (this.opts.bindSessionToAddress && session.remoteAddress !== remoteAddressOf(req)) {
      return { code: EngineErrorCode.UNKNOWN_SID, errorCode: 'ERR_ADDRESS_MISMATCH', context: { sid, expected: session.remoteAddress } };
    }
    if (!upgrade && session.transport.name !== query.get('transport')) {
      return { code: EngineErrorCode.BAD_REQUEST, errorCode: 'ERR_BAD_REQUEST', context: { name: 'TRANSPORT_MISMATCH' } };
    }
    // every request of a session must speak its revision: a missing EIO counts as 3, as on the handshake
    if (protocolOf(query) !== session.protocol) {
      return { code: EngineErrorCode.BAD_REQUEST, errorCode: 'ERR_BAD_REQUEST', context: { name: 'PROTOCOL_MISMATCH', protocol: query.get('EIO') } };
    }
    return undefined;
  }

  /** The official check order (PROTOCOL.md §1.9): transport, sid, method, websocket-without-upgrade, allowRequest, EIO. */
  private verify(req: IncomingMessage, query: URLSearchParams, upgrade: boolean, done: (refusal?: Verdict) => void): void {
    const refusal = this.checkQuery(req, query);
    if (refusal) {
      done(refusal);
      return;
    }
    const transport = query.get('transport');
    const sid = query.get('sid');
    // an empty sid counts as none: a handshake, as on the official server
    if (sid) {
      done(this.checkSession(req, query, sid, upgrade));
      return;
    }
    if (req.method !== 'GET') {
      done({ code: EngineErrorCode.BAD_HANDSHAKE_METHOD, errorCode: 'ERR_BAD_HANDSHAKE_METHOD', context: { method: req.method } });
      return;
    }
    if (transport === 'websocket' && !upgrade) {
      done({ code: EngineErrorCode.BAD_REQUEST, errorCode: 'ERR_BAD_REQUEST', context: { name: 'TRANSPORT_HANDSHAKE_ERROR' } });
      return;
    }
    const checkVersion = (): void => {
      if (protocolOf(query) !== 4) {
        done({ code: EngineErrorCode.UNSUPPORTED_PROTOCOL_VERSION, errorCode: 'ERR_UNSUPPORTED_PROTOCOL', context: { protocol: query.get('EIO') } });
        return;
      }
      if (this.closing) {
        done({ code: EngineErrorCode.BAD_REQUEST, status: 503, errorCode: 'ERR_SERVER_CLOSING', context: { name: 'SERVER_CLOSING' } });
        return;
      }
      const refused = this.admission.check(remoteAddressOf(req), this.clients.size);
      if (refused) {
        done({ code: EngineErrorCode.BAD_REQUEST, status: refused.status, errorCode: refused.errorCode, message: refused.message, context: { limit: refused.limit, value: refused.value } });
        return;
      }
      done();
    };
    const { allowRequest } = this.opts;
    if (!allowRequest) {
      checkVersion();
      return;
    }
    let answered = false;
    // an allowRequest that never answers must not hold the request (or a half-open upgrade) forever
    const deadline = setTimeout(() => {
      if (answered) return;
      answered = true;
      done({ code: EngineErrorCode.FORBIDDEN, errorCode: 'ERR_FORBIDDEN', context: { message: 'allowRequest did not answer in time' } });
    }, this.opts.upgradeTimeout);
    try {
      allowRequest(req, (message, success) => {
        if (answered) return;
        answered = true;
        clearTimeout(deadline);
        if (!success) {
          // an empty message too falls back to 'Forbidden', as in engine.io's abortRequest
          done({ code: EngineErrorCode.FORBIDDEN, errorCode: 'ERR_FORBIDDEN', message: message || undefined, context: { message } });
          return;
        }
        checkVersion();
      });
    } catch (err) {
      this.log.error({ err }, 'allowRequest threw');
      if (!answered) {
        answered = true;
        clearTimeout(deadline);
        done({ code: EngineErrorCode.FORBIDDEN, errorCode: 'ERR_FORBIDDEN', context: { message: 'allowRequest threw' } });
      }
    }
  }

  private count(code: ErrorCode): void {
    this.metrics[code] = (this.metrics[code] ?? 0) + 1;
  }

  private emitRefusal(req: IncomingMessage, refusal: Verdict): void {
    const context = refusal.context ?? {};
    this.count(refusal.errorCode);
    const suppressed = refusal.foreignSid ? this.foreignSids.take(performance.now()) : 0;
    if (suppressed !== undefined) {
      const hint = refusal.foreignSid ? { hint: FOREIGN_SID_HINT, suppressed } : undefined;
      this.log.warn({ code: refusal.errorCode, remoteAddress: remoteAddressOf(req), method: req.method, ...context, ...hint }, 'request refused');
    }
    this.emit('connection_error', {
      req,
      code: refusal.code,
      message: refusal.message ?? ENGINE_ERROR_MESSAGES[refusal.code],
      context,
    });
  }

  private refuseOrigin(req: IncomingMessage, query: URLSearchParams): void {
    this.count('ERR_ORIGIN_REFUSED');
    const asked = query.get('sid');
    const sid = !asked ? undefined : isValidIdShape(asked) ? asked : 'malformed';
    this.log.warn({ code: 'ERR_ORIGIN_REFUSED', sid, remoteAddress: remoteAddressOf(req), origin: req.headers.origin }, 'origin refused');
    this.emit('connection_error', { req, code: EngineErrorCode.FORBIDDEN, message: 'Origin not allowed', context: { origin: req.headers.origin } });
  }

  /** A refused upgrade (a second WebSocket, a takeover, a non-websocket transport): logged, counted, no event. */
  private logUpgradeRefused(req: IncomingMessage, sid: string | undefined, current: string | null): void {
    this.count('ERR_UPGRADE_REFUSED');
    this.log.warn({ code: 'ERR_UPGRADE_REFUSED', sid, remoteAddress: remoteAddressOf(req), transport: current }, 'upgrade refused');
  }

  private logTooLarge(sid: string | undefined, req: IncomingMessage | undefined, size: number | string, limit: number): void {
    this.count('ERR_PAYLOAD_TOO_LARGE');
    this.log.warn({ code: 'ERR_PAYLOAD_TOO_LARGE', sid, remoteAddress: req && remoteAddressOf(req), size, limit }, 'payload too large');
  }

  /** Closes every session; new handshakes are refused from now on. */
  close(): void {
    this.closing = true;
    for (const session of [...this.clients.values()]) session.close(true);
    this.wss.close();
    this.emit('close');
  }
}

/** The protocol revision a request speaks: `EIO=4` is 4, anything else (missing too) counts as 3. */
function protocolOf(query: URLSearchParams): number {
  return query.get('EIO') === '4' ? 4 : 3;
}

/** The client's address, through Express's `trust proxy` setting when the request went through Express. */
export function remoteAddressOf(req: IncomingMessage): string {
  const ip = (req as { ip?: unknown }).ip;
  if (typeof ip === 'string' && ip) return ip;
  return req.socket?.remoteAddress ?? '';
}

function onEarlySocketError(): void {
  // a socket that fails before the upgrade completes is simply gone; nothing to report to a session
}
