// Recovery across nodes: a node of ours in a child process (killable), nodes in the test process, all on
// one redis-server with a RedisSessionStore each, and the waits that prove the store has what was sent.
import { fork, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { join as joinPath } from 'node:path';
import express from 'express';
import { RedisSessionStore, socketio, type ServerOptions, type SocketIoServer } from '../../lib/index';
import { eventually, ioRedisClient, makeAdapter, nodeRedisClient, type AdapterKind, type RedisLibrary, type Rig } from './cluster';
import type { NodeCommand } from './recovery-node';
import { closeNodeRedis, connectNodeRedis, type NodeRedisClient, type RedisServer } from './redis';
import { within } from './wait';

const NODE = joinPath(__dirname, 'recovery-node.ts');

/** A node in a child process: its port and offset epoch, commands over IPC, and its death. */
export interface ChildNode {
  readonly port: number;
  readonly epoch: string;
  readonly process: ChildProcess;
  /** Runs a command; resolves once the node's store writes so far have reached Redis. */
  run(command: Omit<NodeCommand, 'seq'>): Promise<void>;
  /** Sends `signal` and waits for the exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/**
 * Forks spec/support/recovery-node.ts on `redis` with the `kind` adapter; killed (SIGKILL) by the rig,
 * before the Streams adapter's readers are released (a live node's reader would block again).
 */
export async function forkNode(rig: Rig, redis: RedisServer, kind: AdapterKind, env: Record<string, string> = {}): Promise<ChildNode> {
  const child = fork(NODE, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, REDIS_URL: redis.url, ADAPTER: kind, NODE_LIFETIME_MS: '40000', ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  rig.defer(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await within(exited, 5000, 'recovery node exit');
  });
  const ready = await within(
    new Promise<{ port: number; epoch: string }>((resolve, reject) => {
      child.on('message', (m: { type?: string; port?: number; epoch?: string; error?: string }) => {
        if (m?.type === 'ready') resolve({ port: m.port as number, epoch: m.epoch as string });
        if (m?.type === 'failed') reject(new Error(`recovery node failed: ${m.error}`));
      });
      child.once('exit', (code, signal) => reject(new Error(`recovery node exited (${code ?? signal}) before it was ready`)));
    }),
    15000,
    'recovery node ready',
  );
  let seq = 0;
  return {
    ...ready,
    process: child,
    run(command) {
      const mine = ++seq;
      let listener!: (m: { type?: string; seq?: number }) => void;
      return within(
        new Promise<void>((resolve) => {
          listener = (m) => {
            if (m?.type === 'done' && m.seq === mine) resolve();
          };
          child.on('message', listener);
          child.send({ ...command, seq: mine });
        }),
        5000,
        `node command ${command.type}`,
      ).finally(() => child.off('message', listener));
    },
    async kill(signal) {
      child.kill(signal);
      await within(exited, 5000, `recovery node exit after ${signal}`);
    },
  };
}

/** A node of ours in this process, its own store client, closed by the rig. */
export interface LocalNode {
  readonly io: SocketIoServer;
  readonly port: number;
  /** A node-redis client on the store's Redis (the store's own one unless it runs on ioredis). */
  readonly storeClient: NodeRedisClient;
  /** Resolves once the store's writes so far have reached Redis. */
  flushed(): Promise<void>;
}

/** A node of ours here, its store on a node-redis client, or on an ioredis one with `library: 'ioredis'`. */
export async function startLocalNode(rig: Rig, redis: RedisServer, kind: AdapterKind, opts: ServerOptions = {}, library: RedisLibrary = 'node-redis'): Promise<LocalNode> {
  const storeClient = await nodeRedisClient(rig, redis);
  const store = library === 'ioredis' ? await ioRedisClient(rig, redis) : storeClient;
  const adapter = await makeAdapter(rig, redis, kind);
  const io = socketio({ adapter, sessionStore: new RedisSessionStore(store), reconnectTimeout: 5000, pingInterval: 200, pingTimeout: 2000, ...opts });
  io.on('connection', (socket) => {
    if (socket.recovered) return;
    const { rooms, data } = socket.handshake.auth as { rooms?: string[]; data?: unknown };
    if (Array.isArray(rooms)) void socket.join(rooms);
    if (data !== undefined) socket.data = data;
  });
  const app = express();
  app.use(io);
  const server = http.createServer(app);
  const sockets = new Set<NetSocket>();
  server.on('connection', (s: NetSocket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  rig.defer(async () => {
    await io.close();
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const flushed = async (): Promise<void> => {
    // setImmediate: the records batched this tick are sent first
    await new Promise((resolve) => setImmediate(resolve));
    await (store as { ping(): Promise<unknown> }).ping();
  };
  return { io, port: (server.address() as AddressInfo).port, storeClient, flushed };
}

/** Resolves once `io` counts `count` servers and, with the Streams adapter, every reader is blocked on XREAD. */
export async function clusterReady(redis: RedisServer, kind: AdapterKind, io: SocketIoServer, count: number): Promise<void> {
  await eventually(async () => (await io.of('/').adapter.serverCount()) === count, `serverCount ${count}`, 10000);
  if (kind !== 'streams') return;
  const probe = await connectNodeRedis(redis.url);
  try {
    await eventually(async () => {
      const list = String(await probe.sendCommand(['CLIENT', 'LIST']));
      return list.split('\n').filter((line) => /\bcmd=xread\b/.test(line) && /\bflags=\S*b/.test(line)).length >= count;
    }, 'stream readers blocked on XREAD', 10000);
  } finally {
    await closeNodeRedis(probe);
  }
}

/** Keys of the session store under `prefix` right now. */
export async function storeKeys(client: NodeRedisClient, prefix = 'esio'): Promise<string[]> {
  return ((await client.sendCommand(['KEYS', `${prefix}:*`])) as string[]).sort();
}
