// `node --import tsx bench/recovery-cost.ts [--n=10000] [--payload=100] [--reps=3]`
// What recovery across nodes costs per message: the Redis commands and bytes a RedisSessionStore adds per
// broadcast (origin node and receiving node) and per direct emit, and the CPU per message with and without
// it. Two nodes of ours in this process over @socket.io/redis-adapter on a private redis-server, one
// official client on each (in room `r`); every number is the difference between a run with the store and
// one without, so the adapter's own traffic cancels out.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { RedisSessionStore, socketio, type SocketIoServer } from '../lib/index';
import { startBenchRedis } from './redis';

type RedisClient = ReturnType<typeof createClient>;

const arg = (name: string, fallback: number): number => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? Number(found.split('=')[1]) : fallback;
};
const N = arg('n', 10000);
const PAYLOAD = 'x'.repeat(arg('payload', 100));
const REPS = arg('reps', 3);
const BATCH = 200;

interface Node {
  io: SocketIoServer;
  server: http.Server;
  clients: RedisClient[];
  client: ClientSocket;
  store: RedisClient | undefined;
}

async function redisClient(url: string): Promise<RedisClient> {
  const c = createClient({ url, socket: { reconnectStrategy: false } });
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function startNode(url: string, withStore: boolean): Promise<Node> {
  const [pub, sub] = [await redisClient(url), await redisClient(url)];
  const store = withStore ? await redisClient(url) : undefined;
  const io = socketio({ adapter: createAdapter(pub, sub), sessionStore: store ? new RedisSessionStore(store) : undefined, maxQueuedPackets: 1 << 20, maxQueuedBytes: 1 << 30 });
  io.on('connection', (socket) => void socket.join('r'));
  const server = http.createServer(io as unknown as http.RequestListener);
  io.attach(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = ioClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  await new Promise<void>((resolve) => client.once('connect', () => resolve()));
  return { io, server, clients: store ? [pub, sub, store] : [pub, sub], client, store };
}

async function stopNode(node: Node): Promise<void> {
  node.client.disconnect();
  await node.io.close();
  node.server.closeAllConnections();
  await new Promise<void>((resolve) => node.server.close(() => resolve()));
  for (const c of node.clients) await c.close().catch(() => c.destroy());
}

/** Redis's counters: calls per command, and bytes received from all clients. */
async function redisCounters(probe: RedisClient): Promise<{ calls: Map<string, number>; bytesIn: number }> {
  const calls = new Map<string, number>();
  for (const m of String(await probe.sendCommand(['INFO', 'commandstats'])).matchAll(/cmdstat_(\w+):calls=(\d+)/g)) calls.set(m[1], Number(m[2]));
  const bytesIn = Number(/total_net_input_bytes:(\d+)/.exec(String(await probe.sendCommand(['INFO', 'stats'])))?.[1]);
  return { calls, bytesIn };
}

/** Resolves once `client` has had `count` more `news` events. */
function received(client: ClientSocket, count: number): Promise<void> {
  let got = 0;
  return new Promise((resolve) => {
    const listener = (): void => {
      if (++got < count) return;
      client.off('news', listener);
      resolve();
    };
    client.on('news', listener);
  });
}

interface Run {
  cpuUs: number;
  calls: Map<string, number>;
  bytesIn: number;
}

/** Sends N messages with `send`, in batches; waits for the clients and for the stores' writes. */
async function measure(probe: RedisClient, nodes: Node[], waitOn: ClientSocket[], send: () => void): Promise<Run> {
  // settle: records and refreshes of the connections are not per-message costs
  await new Promise((resolve) => setTimeout(resolve, 200));
  const before = await redisCounters(probe);
  const done = Promise.all(waitOn.map((c) => received(c, N)));
  const cpu = process.cpuUsage();
  for (let sent = 0; sent < N; sent += BATCH) {
    for (let i = 0; i < BATCH && sent + i < N; i++) send();
    await new Promise((resolve) => setImmediate(resolve));
  }
  await done;
  for (const node of nodes) await node.store?.ping();
  const used = process.cpuUsage(cpu);
  const after = await redisCounters(probe);
  const calls = new Map<string, number>();
  for (const [name, value] of after.calls) calls.set(name, value - (before.calls.get(name) ?? 0));
  return { cpuUs: used.user + used.system, calls, bytesIn: after.bytesIn - before.bytesIn };
}

async function scenario(url: string, probe: RedisClient, withStore: boolean): Promise<{ broadcast: Run; direct: Run }> {
  const a = await startNode(url, withStore);
  const b = await startNode(url, withStore);
  for (let i = 0; i < 500 && (await a.io.of('/').adapter.serverCount()) < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  const broadcast = await measure(probe, [a, b], [a.client, b.client], () => a.io.to('r').emit('news', PAYLOAD));
  const socket = [...a.io.of('/').sockets.values()][0];
  const direct = await measure(probe, [a, b], [a.client], () => socket.emit('news', PAYLOAD));
  await stopNode(a);
  await stopNode(b);
  return { broadcast, direct };
}

const median = (values: number[]): number => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];

/** The medians over the repetitions of (with store) − (without store), per message. */
function perMessage(without: Run[], withStore: Run[]): Record<string, string> {
  const commands: string[] = [];
  for (const name of withStore[0].calls.keys()) {
    const extra = median(withStore.map((run, i) => (run.calls.get(name) ?? 0) - (without[i].calls.get(name) ?? 0))) / N;
    if (Math.abs(extra) >= 0.01) commands.push(`${name} ${extra.toFixed(2)}`);
  }
  return {
    'Redis commands added per message': commands.join(', ') || 'none',
    'bytes to Redis added per message': (median(withStore.map((run, i) => run.bytesIn - without[i].bytesIn)) / N).toFixed(0),
    'CPU µs per message without store': (median(without.map((run) => run.cpuUs)) / N).toFixed(1),
    'CPU µs per message with store': (median(withStore.map((run) => run.cpuUs)) / N).toFixed(1),
  };
}

async function main(): Promise<void> {
  const redis = await startBenchRedis(undefined, { enabled: false, warning: undefined });
  const probe = await redisClient(redis.url);
  try {
    const without: Array<{ broadcast: Run; direct: Run }> = [];
    const withStore: Array<{ broadcast: Run; direct: Run }> = [];
    // alternated, so that a slower stretch of the machine weighs on both
    for (let rep = 0; rep < REPS; rep++) {
      without.push(await scenario(redis.url, probe, false));
      withStore.push(await scenario(redis.url, probe, true));
    }
    console.log(`recovery across nodes: ${N} messages of ${PAYLOAD.length} bytes, median of ${REPS} runs each, 2 nodes in one process (CPU is the whole process: both nodes and both clients)`);
    console.log('\nbroadcast from node A to room r (1 client on A, 1 on B):');
    console.table(perMessage(without.map((r) => r.broadcast), withStore.map((r) => r.broadcast)));
    console.log('\ndirect socket.emit on node A:');
    console.table(perMessage(without.map((r) => r.direct), withStore.map((r) => r.direct)));
  } finally {
    await probe.close();
    await redis.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
