// An Express app with the engine mounted, and official engine.io-client sockets closed after each test.
import type { TestContext } from 'node:test';
import { Socket as ClientSocket, type SocketOptions } from 'engine.io-client';
import express from 'express';
import { engine, type EngineMiddleware } from '../../lib/engine-io';
import type { EngineOptions } from '../../lib/options';
import { listen, type Running } from './server';
import { once } from './wait';

/** The three ways a client reaches the server; e2e suites run once per set. */
export const TRANSPORT_SETS: ReadonlyArray<readonly [string, ReadonlyArray<'polling' | 'websocket'>]> = [
  ['polling', ['polling']],
  ['websocket', ['websocket']],
  ['upgrade', ['polling', 'websocket']],
];

export interface EngineApp extends Running {
  eio: EngineMiddleware;
  app: express.Express;
}

/** An Express 5 app with `engine(opts)` mounted at the root; the engine is closed after the test. */
export async function startEngine(t: TestContext, opts: EngineOptions = {}): Promise<EngineApp> {
  const app = express();
  const eio = engine(opts);
  app.use(eio);
  const running = await listen(t, app);
  t.after(() => eio.close());
  return { ...running, eio, app };
}

/** An official engine.io-client socket; resolves once open (and upgraded when both transports are on). */
export async function connectEngine(
  t: TestContext,
  url: string,
  transports: ReadonlyArray<'polling' | 'websocket'>,
  opts: Partial<SocketOptions> = {},
): Promise<ClientSocket> {
  const socket = new ClientSocket(url, { path: '/engine.io/', transports: [...transports] as never, ...opts });
  t.after(() => socket.close());
  const upgraded = transports.length > 1 && opts.upgrade !== false ? once(socket, 'upgrade') : undefined;
  await once(socket, 'open');
  if (upgraded) await upgraded;
  return socket;
}
