// Which polling sessions one middleware answers before the app: its routes per server and path, session tags.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { kAnswerHeaders, type AnswerHeaders } from '../engine/http-answers';
import type { EngineServer } from '../engine/server';
import type { EngineSocket } from '../engine/session';
import type { Logger } from '../logger';
import { addFastRoute, captureReplayHeaders, replayHeaders, type FastRoute, type ReplayHeaders } from './fast-path';

interface Tag {
  readonly route: SessionRoute;
  readonly headers: ReplayHeaders | undefined;
  /** The same headers as one object, for kAnswerHeaders. */
  readonly answerHeaders: AnswerHeaders | undefined;
}

/** Handshake requests that went through the app, with the route their session's follow-ups may take. */
const requestTags = new WeakMap<IncomingMessage, Tag>();
/**
 * The same, by session, from the `connection` event on: a poll looks its session up, not the request
 * (Express's requests change prototype; reading a tag off them was the slowest line of an early answer).
 */
const sessionTags = new WeakMap<EngineSocket, Tag>();

/**
 * Distinct URL paths one middleware answers early on one server. Express matches mount paths without
 * regard to case, so a client could make many spellings of one path; past this many they go through the app.
 */
const MAX_PATHS_PER_SERVER = 8;

/** The sessions whose handshake came through one mount path of one middleware on one server. */
class SessionRoute implements FastRoute {
  private readonly engine: EngineServer;
  private readonly log: Logger;
  /** The last tag made: handshakes that carried the same app headers share it. */
  private lastTag: Tag | undefined;

  constructor(engine: EngineServer, log: Logger) {
    this.engine = engine;
    this.log = log;
  }

  tag(req: IncomingMessage, res: ServerResponse): void {
    const headers = captureReplayHeaders(res, this.lastTag?.headers);
    let tag = this.lastTag;
    if (tag === undefined || tag.headers !== headers) {
      tag = { route: this, headers, answerHeaders: headers && Object.fromEntries(headers) };
      this.lastTag = tag;
    }
    requestTags.set(req, tag);
  }

  tryServe(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): boolean {
    const sid = query.get('sid');
    if (!sid) return false;
    const session = this.engine.clients.get(sid);
    // unknown sids, WebSocket sessions and sessions made elsewhere get the app's (and so the same) answer
    if (session === undefined || session.transport.name !== 'polling') return false;
    const tag = sessionTags.get(session);
    if (tag === undefined || tag.route !== this) return false;
    // verify() compares Express's req.ip (`trust proxy` aware), which only the app computes: a request
    // from another address than the session's goes through the app and is judged there
    if (this.engine.opts.bindSessionToAddress && session.remoteAddress !== req.socket.remoteAddress) return false;
    if (tag.headers !== undefined) {
      // a cross-origin request gets the engine's CORS headers through setHeader(), merged with what is
      // there (Vary): the app's go there first, as through the app; otherwise they join writeHead()'s
      if (req.headers.origin === undefined) (res as { [kAnswerHeaders]?: AnswerHeaders })[kAnswerHeaders] = tag.answerHeaders;
      else replayHeaders(res, tag.headers);
    }
    try {
      this.engine.handleRequest(req, res, query);
    } catch (err) {
      // what next(err) would have reached: the app's error handler is not in this path
      this.log.error({ err }, 'polling request failed');
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end();
      }
    }
    return true;
  }
}

/**
 * Follow-up polling requests answered before the app's router: the app's middleware runs on each
 * session's handshake (and on upgrades), then GET/POST requests at the handshake's exact path for that
 * session are served from the server's `request` event (fast-path.ts). Off with `pollingThroughApp`.
 */
export class EarlyPolling {
  private readonly engine: EngineServer;
  private readonly log: Logger;
  private readonly servers = new Map<Server, { paths: Map<string, { route: SessionRoute; remove: () => void }>; onClose: () => void }>();
  private closed = false;

  constructor(engine: EngineServer, log: Logger) {
    this.engine = engine;
    this.log = log;
    const onConnection = (session: EngineSocket): void => {
      const tag = requestTags.get(session.request);
      if (tag === undefined) return;
      requestTags.delete(session.request);
      sessionTags.set(session, tag);
    };
    engine.on('connection', onConnection);
    engine.once('close', () => {
      this.closed = true;
      engine.removeListener('connection', onConnection);
      for (const server of [...this.servers.keys()]) this.forget(server);
    });
  }

  /**
   * Called with a polling handshake the app routed to us: remembers its server and full path, and tags
   * the request (which the session keeps) with the headers the app's middleware set on `res` so far.
   */
  tagHandshake(req: IncomingMessage, res: ServerResponse): void {
    if (this.closed) return;
    const server = (req.socket as { server?: Server } | undefined)?.server;
    if (!server || typeof server.emit !== 'function' || typeof server.once !== 'function') return;
    const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    let known = this.servers.get(server);
    if (!known) {
      // a closed server's requests are over: nothing of ours stays on it (it may listen again)
      known = { paths: new Map(), onClose: () => this.forget(server) };
      this.servers.set(server, known);
      server.once('close', known.onClose);
    }
    const { paths } = known;
    let entry = paths.get(pathname);
    if (!entry) {
      if (paths.size >= MAX_PATHS_PER_SERVER) return;
      const route = new SessionRoute(this.engine, this.log);
      entry = { route, remove: addFastRoute(server, pathname, route) };
      paths.set(pathname, entry);
    }
    entry.route.tag(req, res);
  }

  private forget(server: Server): void {
    const known = this.servers.get(server);
    if (!known) return;
    this.servers.delete(server);
    server.removeListener('close', known.onClose);
    for (const { remove } of known.paths.values()) remove();
  }
}
