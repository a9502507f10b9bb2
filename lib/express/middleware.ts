// (req, res, next): serves <mount><path> (req.url is already relative to the mount), next() for the rest.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { EngineServer } from '../engine/server';
import type { Logger } from '../logger';
import { clientFileOf, createClientBundle } from './client-bundle';
import { EarlyPolling } from './early-polling';
import {
  detachFromHttpServer,
  finishUpgradeResponse,
  hasForeignUpgradeListener,
  headersForUpgrade,
  isWebSocketUpgrade,
  markUpgradeRefused,
  releaseUpgradeRoute,
  routeUpgradesThroughApp,
  upgradeRouteOf,
} from './upgrade';

export type NextFunction = (err?: unknown) => void;
export type Middleware = (req: IncomingMessage, res: ServerResponse, next?: NextFunction) => void;

const EMPTY = Buffer.alloc(0);
/** Upgrade requests whose parser callback has returned, so their socket can be taken over. */
const detachable = new WeakSet<IncomingMessage>();

/** The parts of a request URL the engine needs, or undefined when the path is not ours. */
function matchResource(url: string, path: string): URLSearchParams | undefined {
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  if (!pathname.startsWith(path)) return undefined;
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
}

/** Whether the request URL's path (relative to the mount) is exactly the resource path. */
function isExactResource(url: string, path: string): boolean {
  return url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === 0x3f /* ? */);
}

/** The middleware, plus attach(server) for servers that have other `upgrade` listeners. */
export type EngineMiddlewareFunction = Middleware & { attach(server: Server): () => void };

/**
 * Builds the middleware function that hands engine requests and upgrades to `engine`. `serveClient`:
 * true serves socket.io-client's bundles at `<path>socket.io.js` & co., false leaves those paths to
 * next(), undefined (the Engine.IO entry point) knows no client files.
 */
export function createEngineMiddleware(engine: EngineServer, log: Logger, serveClient?: boolean): EngineMiddlewareFunction {
  const path = engine.opts.path;
  const client = serveClient ? createClientBundle(log, path) : undefined;
  const attached = new WeakSet<Server>();
  let warnedAboutListeners = false;
  const early = engine.opts.pollingThroughApp || !engine.opts.transports.includes('polling') ? undefined : new EarlyPolling(engine, log);

  const middleware = function socketioMiddleware(req: IncomingMessage, res: ServerResponse, next?: NextFunction): void {
    const file = serveClient === undefined ? undefined : clientFileOf(req, path);
    if (file !== undefined) {
      if (client) client.serve(req, res, file, ((req as { baseUrl?: string }).baseUrl ?? '') + path);
      else if (next) next();
      else answerNotFound(res);
      return;
    }
    const query = matchResource(req.url ?? '/', path);
    if (!query) {
      if (next) next();
      else answerNotFound(res);
      return;
    }
    try {
      if (isWebSocketUpgrade(req)) {
        takeUpgrade(engine, req, res, query);
        return;
      }
      if (!warnedAboutListeners && !query.has('sid')) {
        const server = (req.socket as { server?: Server }).server;
        // another engine's attach() routes upgrades to the app too, unless the app has listeners of its own
        if (server && typeof server.listeners === 'function' && !attached.has(server) && hasForeignUpgradeListener(server)) {
          warnedAboutListeners = true;
          log.warn(
            { code: 'ERR_UPGRADE_REFUSED' },
            'the HTTP server has other "upgrade" listeners, so WebSocket upgrades never reach this middleware: call io.attach(server)',
          );
        }
      }
      // a polling handshake: its session's next requests may skip the app (early-polling.ts)
      if (early && req.method === 'GET' && !query.has('sid') && isExactResource(req.url ?? '/', path)) early.tagHandshake(req, res);
      engine.handleRequest(req, res, query);
    } catch (err) {
      if (next) next(err);
      else throw err;
    }
  };

  /** io.attach(server): upgrades reach the app (and so this middleware) beside other upgrade listeners. */
  const attach = (server: Server): (() => void) => {
    if (attached.has(server)) return () => {};
    attached.add(server);
    const detach = routeUpgradesThroughApp(server, path);
    return () => {
      attached.delete(server);
      detach();
    };
  };

  return Object.assign(middleware, { attach });
}

function takeUpgrade(engine: EngineServer, req: IncomingMessage, res: ServerResponse, query: URLSearchParams): void {
  const route = upgradeRouteOf(req);
  if (!route && !detachable.has(req)) {
    // Node is still inside its HTTP parser's callback for this request; once that returns, the parser
    // would put the connection back on the server's list. Take the socket over on the next turn.
    detachable.add(req);
    setImmediate(takeUpgrade, engine, req, res, query);
    return;
  }
  const socket: Duplex = route ? route.socket : req.socket;
  const head = route ? route.head : EMPTY;
  engine.handleUpgrade(req, socket, head, query, {
    headers: headersForUpgrade(res),
    beforeUpgrade: () => {
      if (route) releaseUpgradeRoute(req, res, socket);
      else detachFromHttpServer(req, res, socket);
    },
    onUpgraded: () => finishUpgradeResponse(res),
    // abortUpgrade answers 400 for every Engine.IO code (PROTOCOL.md §1.9); 403/503 only if the engine says so
    onRefused: (status?: number) => markUpgradeRefused(res, status ?? 400),
  });
}

/** Without a next() (plain http.createServer handler), what is not ours gets a plain 404. */
function answerNotFound(res: ServerResponse): void {
  res.statusCode = 404;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end('Not Found');
}
