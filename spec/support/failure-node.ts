// One cluster node in a child process (spec/e2e/cluster-failures*.test.ts): ours or socket.io's over an
// official Redis adapter, Redis clients that reconnect, answering the test's requests over IPC, and
// reporting every unhandled rejection and uncaught exception (it keeps running, the test fails on them).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createAdapter as createRedisAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { Server as OfficialServer } from 'socket.io';
import { socketio } from '../../lib/index';
import type { AnyIo } from './cluster';
import type { FailureNodeConfig, NodeReply, NodeRequest } from './failure-rig';

const config = JSON.parse(process.env.FAILURE_NODE ?? '{}') as FailureNodeConfig;

// the detector: what the test asserts stays silent
for (const event of ['unhandledRejection', 'uncaughtException'] as const) {
  process.on(event, (err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    process.send?.({ type: 'fault', event, message: e.message, stack: e.stack });
  });
}
// a node whose test is gone (IPC closed) leaves; one that outlives its lifetime too
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(3), config.lifetimeMs).unref();

/** Reconnects quickly (the outages last a second or two), otherwise the libraries' defaults (offline queue on). */
const RETRY_MS = 100;

/** Whether each Redis client the adapter was given is connected right now. */
const readiness: Array<() => boolean> = [];

type NodeRedisClient = ReturnType<typeof createClient>;

/**
 * The workaround docs/scaling.md ("Failures") gives: node-redis rejects a command that was written when
 * its connection drops, and @socket.io/redis-adapter (classic) and the Streams adapter do not catch their
 * PUBLISH, so without this each one in flight at that moment is an unhandled rejection (which ends the
 * process by default), for socket.io's nodes as for ours. ioredis resends such commands instead.
 */
function catchPublishes(client: NodeRedisClient): NodeRedisClient {
  const publish = client.publish.bind(client);
  (client as { publish: unknown }).publish = (...args: Parameters<typeof publish>) => {
    const sent = publish(...args);
    sent.catch(() => {}); // the message is lost, as any message published while Redis is away
    return sent;
  };
  return client;
}

function nodeRedis(failFast: boolean): NodeRedisClient {
  const client = createClient({ url: config.redisUrl, socket: { reconnectStrategy: () => RETRY_MS, connectTimeout: 2000 }, disableOfflineQueue: failFast });
  client.on('error', () => {});
  readiness.push(() => client.isReady);
  return config.catchPublishes ? catchPublishes(client) : client;
}

function ioRedis(failFast: boolean): Redis {
  const client = new Redis(config.redisUrl, { retryStrategy: () => RETRY_MS, lazyConnect: true, enableOfflineQueue: !failFast });
  client.on('error', () => {});
  readiness.push(() => client.status === 'ready');
  return client;
}

async function makeAdapter(): Promise<unknown> {
  const client = async (failFast = false): Promise<unknown> => {
    const c = config.library === 'ioredis' ? ioRedis(failFast) : nodeRedis(failFast);
    await c.connect();
    return c;
  };
  // not the Streams adapter's client: its readers (duplicates) would retry a failing XREAD in a tight loop
  if (config.adapter === 'streams') return createStreamsAdapter((await client()) as never);
  const [pub, sub] = [await client(config.failFast), await client()];
  if (config.adapter === 'redis') return createRedisAdapter(pub as never, sub as never, { requestsTimeout: config.requestsTimeout });
  return createShardedAdapter(pub as never, sub as never);
}

async function start(): Promise<{ io: AnyIo; url: string }> {
  const adapter = await makeAdapter();
  const app = express();
  let io: AnyIo;
  let server: http.Server;
  if (config.kind === 'official') {
    server = http.createServer(app);
    io = new OfficialServer(server, { adapter: adapter as never }) as unknown as AnyIo;
  } else {
    const ours = socketio({ adapter: adapter as never });
    app.use(ours);
    server = http.createServer(app);
    io = ours as unknown as AnyIo;
  }
  io.on('connection', (socket: { handshake: { auth: Record<string, unknown> }; join(rooms: string[]): unknown }) => {
    const { rooms } = socket.handshake.auth;
    if (Array.isArray(rooms)) void socket.join(rooms as string[]);
  });
  // the other nodes ask who is there: the answer names this node
  io.on('who', (ack: (name: string) => void) => ack(config.name));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { io, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** What a failed request reports: its message, and for a broadcast with acks who did not answer. */
function failure(err: unknown): NodeReply['error'] {
  const e = err as Error & { missing?: string[]; responses?: unknown[] };
  return { message: e?.message ?? String(err), missing: e?.missing, responses: e?.responses };
}

async function run(io: AnyIo, request: NodeRequest): Promise<unknown> {
  const op = request.timeout === undefined ? io : io.timeout(request.timeout);
  const target = request.room === undefined ? op : op.to(request.room);
  switch (request.op) {
    case 'emit':
      return target.emit(request.event ?? 'news', ...(request.args ?? []));
    case 'emitWithAck':
      return new Promise((resolve, reject) => {
        target.emit(request.event ?? 'q', ...(request.args ?? []), (err: Error | null, responses: unknown[]) => (err ? reject(err) : resolve(responses)));
      });
    case 'fetchSockets':
      return (await target.fetchSockets()).map((s) => s.id).sort();
    case 'serverSideEmitWithAck':
      return io.serverSideEmitWithAck('who');
    case 'serverCount':
      return io.of('/').adapter.serverCount();
    case 'close':
      await (io as unknown as { close(): Promise<void> }).close();
      return true;
    case 'redisReady':
      return readiness.map((isReady) => isReady());
  }
}

void start().then(
  ({ io, url }) => {
    process.on('message', (request: NodeRequest) => {
      const started = Date.now();
      run(io, request).then(
        (value) => process.send?.({ id: request.id, value, ms: Date.now() - started } satisfies NodeReply),
        (err: unknown) => process.send?.({ id: request.id, error: failure(err), ms: Date.now() - started } satisfies NodeReply),
      );
    });
    process.send?.({ type: 'ready', url, pid: process.pid });
  },
  (err: unknown) => {
    process.send?.({ type: 'fault', event: 'start', message: String(err) });
    process.exit(2);
  },
);
