// Follow-up polling requests of live sessions, answered before the app's `request` listeners (issue 8).
import type { IncomingMessage, OutgoingHttpHeader, Server, ServerResponse } from 'node:http';

/**
 * One resource path of one mounted middleware on one HTTP server. The app's middleware saw the handshake
 * of each session it tags, so their follow-up GET/POST requests need not walk the app's router again.
 */
export interface FastRoute {
  /** Answers `req` and returns true when it belongs to a live polling session of this route; false to let the app have it. */
  tryServe(req: IncomingMessage, res: ServerResponse, query: URLSearchParams): boolean;
}

type RequestListener = (this: Server, req: IncomingMessage, res: ServerResponse) => void;

/** The routes answering at one exact URL path. */
interface PathRoutes {
  readonly pathname: string;
  readonly routes: FastRoute[];
}

/** What we put on one server: our listener in the place of the app's, and the routes by URL path. */
interface Hook {
  /** A list, not a Map: a few paths at most, matched in place without slicing the URL. */
  readonly paths: PathRoutes[];
  readonly dispatch: RequestListener;
  /** The `request` listeners we took over; dispatch() calls them for every request it does not answer. */
  readonly taken: readonly RequestListener[];
}

const hooks = new WeakMap<Server, Hook>();

/**
 * Serves `route`'s requests at `pathname` (exact, query aside) on `server` before the app sees them;
 * returns the function that takes the route off again. The first route on a server takes its `request`
 * listeners over, as engine.io's attach() does (a prepended listener could not keep the app's from running
 * too): one listener in their place answers early or calls them in order. Listeners added later run for
 * every request. The last route removed puts the app's listeners back where ours was.
 */
export function addFastRoute(server: Server, pathname: string, route: FastRoute): () => void {
  let hook = hooks.get(server);
  // someone replaced the server's listeners (a hot reload swapping apps): take over the new ones
  if (hook === undefined || !server.rawListeners('request').includes(hook.dispatch)) hook = install(server);
  const { paths } = hook;
  let entry = paths.find((p) => p.pathname === pathname);
  if (!entry) {
    entry = { pathname, routes: [] };
    paths.push(entry);
  }
  entry.routes.push(route);
  let removed = false;
  const installed = hook;
  const atPath = entry;
  return () => {
    if (removed) return;
    removed = true;
    const i = atPath.routes.indexOf(route);
    if (i !== -1) atPath.routes.splice(i, 1);
    if (atPath.routes.length === 0 && paths.includes(atPath)) paths.splice(paths.indexOf(atPath), 1);
    if (paths.length === 0) uninstall(server, installed);
  };
}

function install(server: Server): Hook {
  const taken = server.rawListeners('request') as RequestListener[];
  const paths: PathRoutes[] = [];
  const dispatch: RequestListener = function pollingBeforeTheApp(this: Server, req, res) {
    if (paths.length !== 0 && serveEarly(paths, req, res)) return;
    for (let i = 0; i < taken.length; i++) taken[i].call(this, req, res);
  };
  server.removeAllListeners('request');
  server.on('request', dispatch);
  const hook: Hook = { paths, dispatch, taken };
  hooks.set(server, hook);
  return hook;
}

function uninstall(server: Server, hook: Hook): void {
  if (hooks.get(server) === hook) hooks.delete(server);
  const current = server.rawListeners('request') as RequestListener[];
  if (!current.includes(hook.dispatch)) return;
  // in our listener's place, in their order, beside whatever was added since
  server.removeAllListeners('request');
  for (const listener of current) {
    if (listener !== hook.dispatch) server.on('request', listener);
    else for (const app of hook.taken) server.on('request', app);
  }
}

function serveEarly(paths: readonly PathRoutes[], req: IncomingMessage, res: ServerResponse): boolean {
  const method = req.method;
  if (method !== 'GET' && method !== 'POST') return false;
  // an upgrade (Node delivers it as a request when the server has no `upgrade` listener) goes through the app
  if (req.headers.upgrade !== undefined) return false;
  const url = req.url;
  if (url === undefined) return false;
  const q = url.indexOf('?');
  if (q === -1 || !url.includes('sid=', q)) return false;
  let routes: FastRoute[] | undefined;
  for (let i = 0; i < paths.length; i++) {
    const { pathname } = paths[i];
    if (pathname.length === q && url.startsWith(pathname)) {
      routes = paths[i].routes;
      break;
    }
  }
  if (routes === undefined) return false;
  const query = new URLSearchParams(url.slice(q + 1));
  for (let i = 0; i < routes.length; i++) if (routes[i].tryServe(req, res, query)) return true;
  return false;
}

/** Response headers replayed on early answers, as (name, value) pairs; shared by sessions while they are equal. */
export type ReplayHeaders = ReadonlyArray<readonly [string, OutgoingHttpHeader]>;

// Describe the body or the connection, or are per answer: never replayed from the handshake answer
// (Content-Security-Policy is no content header: helmet's stays)
const NOT_REPLAYED = new Set([
  'connection', 'keep-alive', 'upgrade', 'transfer-encoding', 'trailer', 'te', 'proxy-connection',
  'content-length', 'content-type', 'content-encoding', 'content-range', 'content-location', 'content-disposition',
  'content-language', 'content-md5', 'set-cookie', 'date', 'etag', 'last-modified', 'age', 'location', 'retry-after',
]);

/**
 * The headers the app's middleware set on the handshake's `res` before it reached us (cors(), helmet,
 * X-Powered-By…), minus content, hop-by-hop and per-answer ones (a cookie is set once, not on every poll).
 */
export function captureReplayHeaders(res: ServerResponse, previous: ReplayHeaders | undefined): ReplayHeaders | undefined {
  const headers = res.getHeaders();
  const pairs: Array<readonly [string, OutgoingHttpHeader]> = [];
  for (const name of Object.keys(headers)) {
    if (NOT_REPLAYED.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) pairs.push([name, value]);
  }
  if (pairs.length === 0) return undefined;
  // one array for every session whose handshake answer carried the same headers (the usual case)
  return previous && sameHeaders(previous, pairs) ? previous : pairs;
}

function sameHeaders(a: ReplayHeaders, b: ReplayHeaders): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i][0] !== b[i][0] || String(a[i][1]) !== String(b[i][1])) return false;
  }
  return true;
}

/** Sets the replayed headers on an early answer, before the engine sets its own. */
export function replayHeaders(res: ServerResponse, headers: ReplayHeaders): void {
  for (let i = 0; i < headers.length; i++) res.setHeader(headers[i][0], headers[i][1]);
}
