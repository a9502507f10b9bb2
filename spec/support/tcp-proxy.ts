// A loopback TCP proxy the test can cut and heal: cut() destroys every live connection (both sides),
// pause() stops forwarding server→client bytes (a client that stops reading), halfOpen() kills only the
// client sides (the server keeps a silent peer), heal() lets new ones through.
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
  /**
   * Destroys the client side of every open connection and keeps the server side open and silent
   * (nothing more is forwarded either way, what the server writes is read and thrown away): a
   * half-open connection the server has not noticed. New connections go through as usual.
   */
  halfOpen(): void;
  /** Refuses new connections (until heal()) and leaves the open ones alone. */
  refuse(): void;
  /** Accepts connections again after cut() or refuse(). */
  heal(): void;
  /** Stops forwarding server→client bytes on every connection, open or new (the client stops reading). */
  pause(): void;
  /** Forwards server→client bytes again. */
  resume(): void;
  /** Port new upstream connections go to (switch it to send the next connection to another node). */
  target: number;
  /** Local address upstream connections are made from (e.g. '127.0.0.2'); undefined: the default. */
  localAddress: string | undefined;
  /** Open connections right now (half-open ones not counted). */
  readonly connections: number;
}

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
}

/** Starts a proxy on 127.0.0.1:0 to `targetPort`; everything it opened is closed when the test ends. */
export async function startProxy(t: TestContext, targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<Pair>();
  /** Server sides left open by halfOpen(), destroyed at the end of the test. */
  const orphans = new Set<net.Socket>();
  let refusing = false;
  let paused = false;
  const proxy: TcpProxy = {
    port: 0,
    url: '',
    target: targetPort,
    localAddress: undefined,
    cut() {
      refusing = true;
      dropAll();
    },
    drop: () => dropAll(),
    halfOpen() {
      for (const pair of [...pairs]) {
        pairs.delete(pair);
        const { client, upstream } = pair;
        client.unpipe(upstream);
        upstream.unpipe(client);
        upstream.removeAllListeners('close');
        upstream.removeAllListeners('error');
        upstream.on('error', () => upstream.destroy());
        upstream.on('close', () => orphans.delete(upstream));
        // read and drop what the server writes: it sees a peer that never answers
        upstream.resume();
        orphans.add(upstream);
        client.destroy();
      }
    },
    refuse() {
      refusing = true;
    },
    heal() {
      refusing = false;
    },
    pause() {
      paused = true;
      for (const { client, upstream } of pairs) {
        upstream.unpipe(client);
        upstream.pause();
      }
    },
    resume() {
      paused = false;
      for (const { client, upstream } of pairs) upstream.pipe(client);
    },
    get connections() {
      return pairs.size;
    },
  };
  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = net.connect({ port: proxy.target, host: '127.0.0.1', localAddress: proxy.localAddress });
    // as ws does on its own sockets: no Nagle delay on top of the test's traffic
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const pair: Pair = { client, upstream };
    pairs.add(pair);
    const close = (): void => {
      if (!pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
    client.pipe(upstream);
    if (paused) upstream.pause();
    else upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  function dropAll(): void {
    for (const { client, upstream } of [...pairs]) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
  }
  t.after(async () => {
    refusing = true;
    dropAll();
    for (const socket of orphans) socket.destroy();
    orphans.clear();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  proxy.port = port;
  proxy.url = `http://127.0.0.1:${port}`;
  return proxy;
}
