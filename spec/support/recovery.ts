// Recovery suites: a server with recovery on behind a TCP proxy, reconnecting official clients, drops
// that wait for the proof of recovery, a raw WebSocket Socket.IO client, and a seeded generator.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import WebSocket from 'ws';
import type { ServerOptions } from '../../lib/index';
import { connectIo, serverSocketOf, startIo, until, type ClientSocket, type ConnectIoOptions, type IoApp, type ServerSocket, type Transports } from './io';
import { logSink, type LogSink } from './logs';
import { startProxy, type TcpProxy } from './tcp-proxy';
import { once, within } from './wait';

export interface RecoveryApp extends IoApp {
  proxy: TcpProxy;
  /** What the server logged (debug and up), unless `opts.logger` was given. */
  logs: LogSink;
}

/**
 * Recovery on (startIo pins it off): reconnectTimeout and a quick heartbeat unless `opts` says
 * otherwise; the server's log goes to `logs`, where tests assert on it.
 */
export async function startRecoveryIo(t: TestContext, opts: ServerOptions = {}): Promise<RecoveryApp> {
  const logs = logSink('debug');
  const server = await startIo(t, { reconnectTimeout: 5000, pingInterval: 100, pingTimeout: 2000, logger: logs.logger, ...opts });
  const proxy = await startProxy(t, server.port);
  return { ...server, proxy, logs };
}

/** Client options that reconnect quickly on their own. */
export const RECONNECTING: ConnectIoOptions = { reconnection: true, reconnectionDelay: 20, reconnectionDelayMax: 50 };

/** An official client through the proxy that reconnects on its own, and its server-side socket. */
export async function recoveringPair(
  t: TestContext,
  server: RecoveryApp,
  transports: Transports,
  opts: ConnectIoOptions = {},
): Promise<{ client: ClientSocket; socket: ServerSocket }> {
  const client = await connectIo(t, server.proxy.url, transports, { ...RECONNECTING, ...opts });
  return { client, socket: serverSocketOf(server.io, client) };
}

/**
 * Resolves once a drop would cut the live link: the proxy has a connection and the server holds a way
 * to the client (a polling session between two GETs has no connection open to cut).
 */
export function linkUp(proxy: TcpProxy, socket: ServerSocket): Promise<void> {
  return until(() => proxy.connections > 0 && socket.client.current !== undefined && socket.conn.transport.writable, 3000, 'a live link to cut');
}

/** Cuts the link once it is up; resolves when both sides say the session came back. */
export async function dropAndRecover(proxy: TcpProxy, client: ClientSocket, socket: ServerSocket): Promise<void> {
  await linkUp(proxy, socket);
  const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
  const id = client.id;
  proxy.drop();
  await back;
  assert.equal(client.recovered, true, 'client.recovered after the drop');
  assert.equal(client.id, id);
}

/** Waits for a marker event sent after everything else: what was sent before it has arrived. */
export async function marker(client: ClientSocket, socket: ServerSocket, name = 'marker'): Promise<void> {
  const got = once(client, name);
  socket.emit(name);
  await got;
}

/** A tiny LCG (Numerical Recipes constants): the same sequence for the same seed, in [0, 1). */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** One turn of the event loop, so sockets read and write between two steps of a test's sequence. */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface RawSocketIo {
  ws: WebSocket;
  /** Every text message received, in order (binary ones as `<binary n>`). */
  messages: string[];
  /** Resolves with the first message received (already or later) that `match` accepts; bounded. */
  next(match: (message: string) => boolean, what?: string): Promise<string>;
  send(text: string): void;
}

/** A raw Engine.IO WebSocket session speaking Socket.IO by hand (answers pings); closed after the test. */
export async function rawSocketIo(t: TestContext, port: number): Promise<RawSocketIo> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  t.after(() => ws.terminate());
  const messages: string[] = [];
  ws.on('message', (data, isBinary) => {
    const text = isBinary ? `<binary ${(data as Buffer).length}>` : data.toString();
    if (text === '2') ws.send('3');
    messages.push(text);
  });
  const next = (match: (message: string) => boolean, what = 'a matching message'): Promise<string> => {
    let onMessage!: () => void;
    return within(
      new Promise<string>((resolve) => {
        onMessage = (): void => {
          const found = messages.find(match);
          if (found !== undefined) resolve(found);
        };
        ws.on('message', onMessage);
        onMessage();
      }),
      3000,
      what,
    ).finally(() => ws.off('message', onMessage));
  };
  await next((m) => m.startsWith('0{'), 'the open packet');
  return { ws, messages, next, send: (text) => ws.send(text) };
}
