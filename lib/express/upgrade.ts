// WebSocket upgrades through the app: detach an upgrade request from Node's HTTP parser, or route
// `upgrade` events (io.attach) through the app's request listeners, so middleware can refuse them.
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

/** Set on a request that reached the app through our `upgrade` listener: its socket and head. */
export const kUpgradeRoute = Symbol('expressSocketIo.upgradeRoute');

export interface UpgradeRoute {
  readonly socket: Duplex;
  readonly head: Buffer;
}

type RoutedRequest = IncomingMessage & { [kUpgradeRoute]?: UpgradeRoute };

/** Whether this request asks for a WebSocket (whichever way Node delivered it). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return req.method === 'GET' && typeof upgrade === 'string' && upgrade.toLowerCase() === 'websocket';
}

/** The upgrade route of a request that came through io.attach(), if it did. */
export function upgradeRouteOf(req: IncomingMessage): UpgradeRoute | undefined {
  return (req as RoutedRequest)[kUpgradeRoute];
}

/**
 * Hands an attach()-routed upgrade over to ws: `res` lets go of the socket and of our `finish` listener
 * (so finishUpgradeResponse need not build a head nobody reads), and the request of its route (it
 * stays as `socket.request` for the connection's life; set to undefined, not deleted, to keep its map).
 */
export function releaseUpgradeRoute(req: IncomingMessage, res: ServerResponse, socket: Duplex): void {
  res.removeListener('finish', endUnlessUpgraded);
  res.detachSocket(socket as never);
  (req as RoutedRequest)[kUpgradeRoute] = undefined;
}

interface NodeHttpCommon {
  freeParser?: (parser: unknown, req: unknown, socket: unknown) => void;
}

let httpCommon: NodeHttpCommon | undefined;
function loadHttpCommon(): NodeHttpCommon {
  if (!httpCommon) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      httpCommon = require('_http_common') as NodeHttpCommon;
    } catch {
      httpCommon = {};
    }
  }
  return httpCommon;
}

/** The listeners Node's HTTP server puts on each connection (lib/_http_server.js connectionListenerInternal). */
const HTTP_SOCKET_LISTENERS: ReadonlyArray<readonly [string, string]> = [
  ['data', 'bound socketOnData'],
  ['end', 'bound socketOnEnd'],
  ['close', 'bound socketOnClose'],
  ['drain', 'bound socketOnDrain'],
  ['error', 'socketOnError'],
  ['timeout', 'socketOnTimeout'],
  ['resume', 'onSocketResume'],
  ['pause', 'onSocketPause'],
];

type ParsedSocket = Duplex & { parser?: { _consumed?: boolean; unconsume?: () => void; remove?: () => void; finish?: () => void } | null };
type Listener = (...args: unknown[]) => void;
type WithEvents = { _events?: Record<string | symbol, Listener | Listener[] | undefined> };

/**
 * Node's listeners that are one function for every connection (socketOnError, onSocketPause…), once
 * recognised by name: later connections compare identities instead of reading names (a bound
 * function's name is a new string at each read).
 */
const sharedHttpListeners = new Set<Listener>();

function isHttpListener(listener: Listener, name: string): boolean {
  if (sharedHttpListeners.has(listener)) return true;
  const actual = (listener as { name?: string }).name;
  if (actual !== name) return false;
  if (!name.startsWith('bound ')) sharedHttpListeners.add(listener);
  return true;
}

/** Removes the listener of `event` called `name`, reading the emitter's table without copying it. */
function removeNamedListener(emitter: Duplex | ServerResponse, event: string, name: string): void {
  const table = (emitter as WithEvents)._events;
  // (an emitter without Node's listener table: the public, copying way)
  const current = table ? table[event] : (emitter.listeners(event) as Listener[]);
  if (current === undefined) return;
  if (typeof current === 'function') {
    if (isHttpListener(current, name)) emitter.removeListener(event, current);
    return;
  }
  if (!Array.isArray(current)) return;
  for (const listener of current.slice()) {
    if (typeof listener === 'function' && isHttpListener(listener, name)) emitter.removeListener(event, listener);
  }
}

/**
 * Takes an upgrade request that Node delivered as an ordinary `request` (the server had no `upgrade`
 * listener) away from the HTTP server, the way Node itself does before emitting `upgrade`: the
 * parser stops reading the socket and leaves the server's connection list, so headersTimeout,
 * requestTimeout, keepAliveTimeout and closeIdleConnections() no longer apply to it.
 */
export function detachFromHttpServer(_req: IncomingMessage, res: ServerResponse, socket: Duplex): void {
  for (const [event, name] of HTTP_SOCKET_LISTENERS) removeNamedListener(socket, event, name);
  const parser = (socket as ParsedSocket).parser;
  if (parser) {
    const { freeParser } = loadHttpCommon();
    if (freeParser) {
      // no `req`: Node would add `req.parser = null`, a new property on a request whose hidden class
      // Express already made its own (setPrototypeOf), i.e. one more map and descriptor copy per upgrade
      freeParser(parser, undefined, socket);
    } else {
      if (parser._consumed) parser.unconsume?.();
      parser.remove?.();
      (socket as ParsedSocket).parser = null;
    }
  }
  // the response will never be written; the server's bookkeeping for it must not run on our 'finish'
  removeNamedListener(res, 'finish', 'bound resOnFinish');
  res.detachSocket(socket as never);
  (socket as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(0);
}

/**
 * Marks the HTTP side of an upgrade as done (status 101) for the app's loggers. pino-http and morgan
 * read the status only from a response whose head is out and that has ended ("request aborted",
 * status null otherwise); the socket belongs to ws now, so writeHead() writes nothing. When nothing
 * watches the response (no listener, no on-headers hook on writeHead) the head string is not built.
 */
export function finishUpgradeResponse(res: ServerResponse): void {
  res.statusCode = 101;
  if (res.listenerCount('finish') === 0 && res.listenerCount('close') === 0 && res.writeHead === ServerResponse.prototype.writeHead) {
    res.finished = true;
    return;
  }
  if (!res.headersSent) res.writeHead(101);
  res.finished = true;
  res.emit('finish');
  res.emit('close');
}

/**
 * Records on `res` the refusal the engine wrote on the raw socket, so loggers see its status; their
 * `close` event comes when the engine destroys the socket.
 */
export function markUpgradeRefused(res: ServerResponse, status: number): void {
  if (!res.headersSent) res.writeHead(status);
  res.finished = true;
}

const HOP_BY_HOP = new Set([
  'connection', 'upgrade', 'content-length', 'content-type', 'transfer-encoding', 'keep-alive',
  'sec-websocket-accept', 'sec-websocket-protocol', 'sec-websocket-extensions',
]);

/** Headers the app's middleware set on `res` (helmet, cookies…), as lines for the 101 answer. */
export function headersForUpgrade(res: ServerResponse): string[] {
  const lines: string[] = [];
  const headers = res.getHeaders();
  for (const name of Object.keys(headers)) {
    if (HOP_BY_HOP.has(name)) continue;
    const value = headers[name];
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) {
      const text = String(v);
      if (!/[\r\n]/.test(text)) lines.push(`${name}: ${text}`);
    }
  }
  return lines;
}

const EMPTY_HEAD = Buffer.alloc(0);

/** Set once a request is being routed, so two attached engines do not both take it. */
const kRouted = Symbol('expressSocketIo.routed');
/** Marks our own `upgrade` listeners, to tell them from the app's. */
const kOurListener = Symbol('expressSocketIo.upgradeListener');

type UpgradeListener = ((req: IncomingMessage, socket: Duplex, head: Buffer) => void) & { [kOurListener]?: true };

function destroySocket(this: Duplex): void {
  this.destroy();
}

function endUnlessUpgraded(this: ServerResponse): void {
  if (this.statusCode !== 101) this.socket?.end();
}

/** Whether `server` has `upgrade` listeners other than those attach() added. */
export function hasForeignUpgradeListener(server: Server): boolean {
  return server.listeners('upgrade').some((listener) => !(listener as UpgradeListener)[kOurListener]);
}

/**
 * io.attach(server): an `upgrade` listener that runs upgrade requests through the app's `request`
 * listeners with a real ServerResponse, so they meet the same middleware as with no listener at all.
 * When other `upgrade` listeners exist (another ws server, a dev server's hot reload) only requests
 * for `resourcePath` are taken; the rest are left to them.
 */
export function routeUpgradesThroughApp(server: Server, resourcePath: string): () => void {
  const onUpgrade: UpgradeListener = (req, socket, head) => {
    const tagged = req as RoutedRequest & { [kRouted]?: true };
    if (tagged[kRouted]) return;
    // another attached engine is no reason to leave an upgrade unanswered: only the app's listeners are
    const pathname = (req.url ?? '/').split('?', 1)[0];
    if (!pathname.includes(resourcePath) && hasForeignUpgradeListener(server)) return;
    tagged[kRouted] = true;
    tagged[kUpgradeRoute] = { socket, head: head.length === 0 ? EMPTY_HEAD : Buffer.from(head) };
    // module-level listeners: a closure here would share this call's context, and the socket's error
    // listener (it lives as long as the connection) would keep the response and its headers alive
    socket.on('error', destroySocket);
    const res = new ServerResponse(req);
    // whatever the app answers instead of a 101 ends the connection, and its head says so
    res.shouldKeepAlive = false;
    res.assignSocket(socket as never);
    // an accepted upgrade detaches `res` before anything is written; any other answer ends the socket
    res.on('finish', endUnlessUpgraded);
    for (const listener of server.listeners('request')) {
      (listener as (req: IncomingMessage, res: ServerResponse) => void).call(server, req, res);
    }
  };
  onUpgrade[kOurListener] = true;
  server.on('upgrade', onUpgrade);
  return () => server.removeListener('upgrade', onUpgrade);
}
