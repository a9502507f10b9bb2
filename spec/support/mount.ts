// Mount tests: an echo engine, a one-message round trip with the official client, app routes to probe.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { Socket as ClientSocket, SocketOptions } from 'engine.io-client';
import type { EngineMiddleware, EngineSocket } from '../../lib/engine-io';
import { connectEngine } from './engine';
import { once } from './wait';

export type Transports = ReadonlyArray<'polling' | 'websocket'>;

/** Makes every session of `eio` echo what it receives. */
export function echo(eio: EngineMiddleware): void {
  eio.on('connection', (socket: EngineSocket) => socket.on('message', (data) => socket.send(data)));
}

/**
 * Connects an official client at `path`, checks one echoed message (the engine must echo, see
 * echo()) and returns both ends.
 */
export async function roundTrip(
  t: TestContext,
  eio: EngineMiddleware,
  url: string,
  path: string,
  transports: Transports,
  opts: Partial<SocketOptions> = {},
): Promise<{ socket: EngineSocket; client: ClientSocket }> {
  const serverSide = once<[EngineSocket]>(eio, 'connection');
  const client = await connectEngine(t, url, transports, { path, ...opts });
  const [socket] = await serverSide;
  assert.equal(client.transport.name, transports[transports.length - 1]);
  await echoOnce(client, `hello over ${transports.join('+')}`);
  return { socket, client };
}

/** Sends `text` and waits for the echo. */
export async function echoOnce(client: ClientSocket, text: string): Promise<void> {
  const echoed = once(client, 'message');
  client.send(text);
  assert.deepEqual(await echoed, [text]);
}
