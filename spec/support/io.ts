// An Express app with socketio() mounted, and official socket.io-client sockets closed after each test.
import type { TestContext } from 'node:test';
import express from 'express';
import { io as ioClient, type ManagerOptions, type Socket as ClientSocket, type SocketOptions } from 'socket.io-client';
import { socketio, type ServerOptions, type SocketIoServer } from '../../lib/index';
import type { Socket } from '../../lib/io/socket';
import { listen, type Running } from './server';
import { once, within } from './wait';

export { TRANSPORT_SETS } from './engine';
export type Transports = ReadonlyArray<'polling' | 'websocket'>;
export type { ClientSocket };
export type ServerSocket = Socket;

export interface IoApp extends Running {
  io: SocketIoServer;
  app: express.Express;
}

export interface StartIoOptions {
  /** Express middleware mounted before io (e.g. one that sets req.user). */
  before?: express.RequestHandler[];
}

/** An Express 5 app with `socketio(opts)` mounted at the root; io is closed after the test. */
export async function startIo(t: TestContext, opts: ServerOptions = {}, { before = [] }: StartIoOptions = {}): Promise<IoApp> {
  const app = express();
  for (const fn of before) app.use(fn);
  // Recovery (on by default) appends an offset argument to every event; the feature suites assert exact
  // arguments, so they run with socket.io's plain behaviour unless a test asks otherwise. The recovery
  // suites (io-recovery*.test.ts) run with the defaults.
  const io = socketio({ reconnectTimeout: 0, ...opts });
  app.use(io);
  const running = await listen(t, app);
  t.after(() => io.close());
  return { ...running, io, app };
}

export type ConnectIoOptions = Partial<ManagerOptions & SocketOptions> & {
  /** With both transports, also wait for the engine's upgrade to WebSocket. @default true */
  awaitUpgrade?: boolean;
};

/** Options every test client gets: a Manager of its own, no reconnection (a test closes for good). */
function clientOptions(transports: Transports, opts: ConnectIoOptions): Partial<ManagerOptions & SocketOptions> {
  const { awaitUpgrade: _ignored, ...rest } = opts;
  return { forceNew: true, reconnection: false, transports: [...transports], ...rest };
}

/** Closes a client socket and its whole Manager (every multiplexed namespace, the engine). */
export function closeClient(socket: ClientSocket): void {
  socket.disconnect();
  socket.io.engine?.close();
}

/**
 * An official socket.io-client socket (`forceNew`), closed after the test. Resolves on 'connect'
 * (rejects on 'connect_error'), and after the engine's upgrade when both transports are on.
 */
export async function connectIo(t: TestContext, url: string, transports: Transports, opts: ConnectIoOptions = {}): Promise<ClientSocket> {
  const socket = openIo(t, url, transports, opts);
  const upgraded = transports.length > 1 && opts.awaitUpgrade !== false && opts.upgrade !== false ? once(socket.io.engine, 'upgrade') : undefined;
  await connected(socket);
  if (upgraded) await upgraded;
  return socket;
}

/** Like connectIo, without waiting: for tests that watch the connection fail. */
export function openIo(t: TestContext, url: string, transports: Transports, opts: ConnectIoOptions = {}): ClientSocket {
  const socket = ioClient(url, clientOptions(transports, opts));
  t.after(() => closeClient(socket));
  return socket;
}

/** Resolves on the socket's 'connect', rejects with the 'connect_error' error; bounded. */
export function connected(socket: ClientSocket, ms?: number): Promise<void> {
  if (socket.connected) return Promise.resolve();
  let onConnect!: () => void;
  let onError!: (err: Error) => void;
  return within(
    new Promise<void>((resolve, reject) => {
      onConnect = resolve;
      onError = reject;
      socket.once('connect', onConnect);
      socket.once('connect_error', onError);
    }),
    ms,
    'socket.io connect',
  ).finally(() => {
    socket.off('connect', onConnect);
    socket.off('connect_error', onError);
  });
}

/** Another namespace over the same Manager (one Engine.IO connection); closed with it. */
export async function connectNamespace(socket: ClientSocket, nsp: string, opts: Partial<SocketOptions> = {}): Promise<ClientSocket> {
  const other = socket.io.socket(nsp, opts);
  // the Manager's autoConnect already sent the CONNECT; a second one would be a protocol violation
  if (!other.active) other.connect();
  await connected(other);
  return other;
}

/** The server-side socket of a connected client, found by the id both sides share. */
export function serverSocketOf(io: SocketIoServer, client: ClientSocket, nsp = '/'): ServerSocket {
  const socket = io.of(nsp).sockets.get(client.id as string);
  if (!socket) throw new Error(`no server socket ${client.id} in ${nsp}`);
  return socket;
}

/** A connected client and its server-side socket. */
export async function connectPair(
  t: TestContext,
  { io, url }: Pick<IoApp, 'io' | 'url'>,
  transports: Transports,
  opts: ConnectIoOptions = {},
): Promise<{ client: ClientSocket; socket: ServerSocket }> {
  const client = await connectIo(t, url, transports, opts);
  return { client, socket: serverSocketOf(io, client) };
}

/** Names of the events a client receives, in order (onAny). */
export function recordEvents(client: ClientSocket): string[] {
  const seen: string[] = [];
  client.onAny((ev: string) => seen.push(ev));
  return seen;
}

/** Resolves once `check()` is true, testing it on every turn of the event loop; bounded. */
export function until(check: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  let stopped = false;
  return within(
    new Promise<void>((resolve) => {
      const test = (): void => {
        if (stopped) return;
        if (check()) resolve();
        else setImmediate(test);
      };
      test();
    }),
    ms,
    what,
  ).finally(() => {
    stopped = true;
  });
}
