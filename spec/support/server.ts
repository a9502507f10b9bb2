// Test servers on 127.0.0.1:0, closed when the test ends.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import express5 from 'express';
import express4 from 'express4';

export type ExpressFactory = typeof express5;
/** Both Express majors the package supports, for tests that run once per version. */
export const EXPRESS_VERSIONS: ReadonlyArray<readonly [string, ExpressFactory]> = [
  ['express 4', express4 as unknown as ExpressFactory],
  ['express 5', express5],
];

export interface Running {
  server: http.Server;
  port: number;
  url: string;
}

/** Listens on 127.0.0.1 with an ephemeral port; every connection is destroyed at the end of the test. */
export async function listen(t: TestContext, handler: http.RequestListener | http.Server): Promise<Running> {
  const server = handler instanceof http.Server ? handler : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return closedAfter(t, server);
}

/** A listening server, closed (every connection destroyed first) when the test ends. */
export function closedAfter(t: TestContext, server: http.Server): Running {
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return { server, port, url: `http://127.0.0.1:${port}` };
}
