// A loopback TCP proxy the test can cut and heal: cut() destroys every live connection (both sides),
// pause() stops forwarding server→client bytes (a client that stops reading), heal() lets new ones through.
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

export interface TcpProxy {
  port: number;
  url: string;
  /** Destroys every open connection through the proxy; new ones are refused until heal(). */
  cut(): void;
  /** Destroys every open connection but keeps accepting new ones (a blip). */
  drop(): void;
  /** Accepts connections again after cut(). */
  heal(): void;
  /** Open connections right now. */
  readonly connections: number;
}

/** Starts a proxy on 127.0.0.1:0 to `targetPort`; everything it opened is closed when the test ends. */
export async function startProxy(t: TestContext, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[net.Socket, net.Socket]>();
  let refusing = false;
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    const pair: [net.Socket, net.Socket] = [client, upstream];
    pairs.add(pair);
    const close = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dropAll = (): void => {
    for (const [a, b] of [...pairs]) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  t.after(async () => {
    dropAll();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    cut() {
      refusing = true;
      dropAll();
    },
    drop: dropAll,
    heal() {
      refusing = false;
    },
    get connections() {
      return pairs.size;
    },
  };
}
