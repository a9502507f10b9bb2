// A free TCP port on 127.0.0.1 for a server a test spawns (redis-server, postgres); callers retry on a race.
import * as net from 'node:net';

/** Asks the kernel for an ephemeral loopback port and releases it; the caller binds it next. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
