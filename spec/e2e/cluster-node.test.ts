// Node's cluster module: two workers of ours with @socket.io/cluster-adapter, the test process as the
// primary with @socket.io/sticky routing each polling session to its worker.
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import * as http from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { join as joinPath } from 'node:path';
import { test } from 'node:test';
import { setupPrimary as setupAdapterPrimary } from '@socket.io/cluster-adapter';
import { setupMaster as setupStickyPrimary } from '@socket.io/sticky';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { closeClient, connected } from '../support/io';
import { once, within } from '../support/wait';

const WORKER = joinPath(__dirname, '..', 'support', 'cluster-worker.ts');
const OFFSET = /^([0-9a-f]{8})\.[0-9a-z]+$/;

function waitForMessage(worker: Worker, type: string, ms: number): Promise<Record<string, unknown>> {
  let listener!: (message: Record<string, unknown>) => void;
  return within(
    new Promise<Record<string, unknown>>((resolve, reject) => {
      listener = (message) => {
        if (message?.type === type) resolve(message);
      };
      worker.on('message', listener);
      worker.once('exit', (code) => reject(new Error(`worker ${worker.id} exited (${code}) before "${type}"`)));
    }),
    ms,
    `worker ${worker.id} "${type}"`,
  ).finally(() => worker.off('message', listener));
}

/** Asks the worker to close its io and exit; kills it if it has not within 5 s. */
async function stopWorker(worker: Worker): Promise<void> {
  if (worker.isDead()) return;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  if (worker.isConnected()) worker.send({ type: 'test:stop' });
  const killer = setTimeout(() => worker.process.kill('SIGKILL'), 5000);
  await within(exited, 8000, `worker ${worker.id} exit`).finally(() => clearTimeout(killer));
}

test('a broadcast from one Node cluster worker reaches the clients of the other (cluster adapter, sticky polling)', { timeout: 45000 }, async (t) => {
  setupAdapterPrimary();
  // sticky hands the first chunk over with the socket: Buffers need the advanced IPC serialization
  cluster.setupPrimary({ exec: WORKER, execArgv: ['--import', 'tsx'], serialization: 'advanced' });
  const server = http.createServer();
  setupStickyPrimary(server, { loadBalancingMethod: 'round-robin' });
  const connections = new Set<NetSocket>();
  let closing = false;
  server.on('connection', (s: NetSocket) => {
    // a request of a client being closed (its close packet) that arrives during the teardown
    if (closing) setImmediate(() => s.destroy());
    connections.add(s);
    s.on('close', () => connections.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: ClientSocket[] = [];
  const workers = [1, 2].map(() => cluster.fork({ WORKERS: '2', WORKER_LIFETIME_MS: '30000' }));
  t.after(async () => {
    closing = true;
    for (const client of clients) closeClient(client);
    // close the primary's server while the workers live: a server that handed connections to child
    // processes asks them at close, and one closed after they all exited never emits 'close' (Node)
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    await Promise.all(workers.map(stopWorker));
    // what the primary still holds: requests sticky relays chunk by chunk, requests no worker took
    for (const s of connections) s.destroy();
    await within(serverClosed, 5000, 'primary server close');
  });
  await Promise.all(workers.map((w) => waitForMessage(w, 'test:ready', 20000)));

  // one polling client on each worker. Round-robin sends each new session to the next worker; sticky
  // learns where a session lives from the worker's IPC message, which races the client's first request
  // with the new sid (a request that wins goes to the wrong worker: 400). A client that lost, or that
  // landed on a worker already taken, is closed and another one tried: at most 8.
  const welcomes: unknown[][] = [];
  for (let attempt = 0; welcomes.length < 2; attempt++) {
    assert.ok(attempt < 8, `a client on each worker within 8 attempts (${welcomes.length} so far)`);
    const client = ioClient(url, { forceNew: true, reconnection: false, transports: ['polling'] });
    clients.push(client);
    const welcome = once(client, 'welcome', 5000);
    welcome.catch(() => {});
    try {
      await connected(client, 5000);
      const got = await welcome;
      if (welcomes.some(([worker]) => worker === got[0])) closeClient(client);
      else welcomes.push(got);
    } catch {
      closeClient(client);
    }
  }
  const [[workerA, epochA], [workerB, epochB]] = welcomes;
  assert.notEqual(workerA, workerB);
  const onWorkers = clients.filter((c) => c.connected);

  const got = onWorkers.map((c) => once(c, 'news', 5000));
  onWorkers[1].emit('shout', 'hello');
  const [onA, onB] = await Promise.all(got);
  // each worker stamps its own recovery offset on what it delivers
  assert.deepEqual(onA.slice(0, 2), ['hello', workerB]);
  assert.deepEqual(onB.slice(0, 2), ['hello', workerB]);
  assert.equal(OFFSET.exec(String(onA[2]))?.[1], epochA);
  assert.equal(OFFSET.exec(String(onB[2]))?.[1], epochB);
});
