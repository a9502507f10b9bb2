// Two-node clusters in one test process: our nodes and official socket.io nodes over the official Redis
// adapters, official socket.io-client clients, and one teardown stack that closes them in order.
import * as http from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import type { TestContext } from 'node:test';
import express from 'express';
import { createAdapter as createRedisAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import { Server as OfficialServer } from 'socket.io';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { socketio, type AdapterConstructor, type ServerOptions } from '../../lib/index';
import { closeClient, connected } from './io';
import { closeNodeRedis, connectNodeRedis, startRedis, type NodeRedisClient, type RedisServer } from './redis';
import { DEFAULT_WAIT_MS, once, within } from './wait';

export type AdapterKind = 'redis' | 'sharded' | 'streams';
/** Every adapter the cluster-ops operations run over: the Redis ones, and Postgres (spec/support/postgres.ts). */
export type ClusterAdapterKind = AdapterKind | 'postgres';
export type NodeKind = 'ours' | 'official';

/* eslint-disable @typescript-eslint/no-explicit-any -- one loose shape over two servers' typed APIs */
/** What the tests use of a broadcast operator, ours or socket.io's. */
export interface AnyOperator {
  emit(ev: string, ...args: any[]): boolean;
  emitWithAck(ev: string, ...args: any[]): Promise<any>;
  to(room: string | string[]): AnyOperator;
  in(room: string | string[]): AnyOperator;
  except(room: string | string[]): AnyOperator;
  timeout(ms: number): AnyOperator;
  readonly local: AnyOperator;
  fetchSockets(): Promise<AnyRemoteSocket[]>;
  socketsJoin(room: string | string[]): void;
  socketsLeave(room: string | string[]): void;
  disconnectSockets(close?: boolean): void;
}

/** A socket as fetchSockets() returns it (a local Socket or a RemoteSocket). */
export interface AnyRemoteSocket {
  readonly id: string;
  readonly handshake: { auth: Record<string, unknown>; address: string; query: Record<string, unknown> };
  readonly rooms: Set<string>;
  readonly data: any;
  emit(ev: string, ...args: any[]): boolean;
  timeout(ms: number): AnyOperator;
  join(room: string | string[]): unknown;
  leave(room: string): unknown;
  disconnect(close?: boolean): unknown;
}

/** A server-side socket, ours or socket.io's. */
export interface AnyServerSocket extends AnyRemoteSocket {
  readonly broadcast: AnyOperator;
  to(room: string | string[]): AnyOperator;
}

export interface AnyNamespace extends AnyOperator {
  readonly name: string;
  readonly sockets: Map<string, AnyServerSocket>;
  readonly adapter: { serverCount(): Promise<number>; rooms: Map<string, Set<string>> };
  on(ev: string, listener: (...args: any[]) => void): unknown;
  serverSideEmit(ev: string, ...args: any[]): boolean;
  serverSideEmitWithAck(ev: string, ...args: any[]): Promise<any[]>;
}

/** The server: the main namespace's API, `sockets` being that namespace (as in socket.io). */
export interface AnyIo extends Omit<AnyNamespace, 'sockets' | 'name'> {
  readonly sockets: AnyNamespace;
  of(name: string): AnyNamespace;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

export interface ClusterNode {
  readonly kind: NodeKind;
  readonly name: string;
  readonly io: AnyIo;
  readonly url: string;
  /** Our nodes' offset epoch: every offset their clients see starts with it (undefined: recovery off or official). */
  readonly epoch: string | undefined;
  /** Closes the node (io, adapters, HTTP server); the rig calls it too, once is enough. */
  close(): Promise<void>;
}

/** A client and the node it is connected to. */
export interface ClusterClient {
  readonly socket: ClientSocket;
  readonly node: ClusterNode;
  /** The socket's id (the server's id for it). */
  readonly id: string;
}

/**
 * One test's cluster: everything it opens is closed by one t.after, last opened first (clients, nodes,
 * the adapters' Redis clients), before the redis-server is killed (its own t.after, registered later).
 */
export class Rig {
  private readonly stack: Array<() => unknown> = [];

  constructor(t: TestContext) {
    t.after(() => this.teardown());
  }

  defer(fn: () => unknown): void {
    this.stack.push(fn);
  }

  private async teardown(): Promise<void> {
    const errors: unknown[] = [];
    for (let fn = this.stack.pop(); fn; fn = this.stack.pop()) {
      try {
        await within(Promise.resolve(fn()), 5000, 'cluster teardown step');
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length > 0) throw errors[0];
  }
}

/** A rig and its private redis-server. */
export async function redisRig(t: TestContext): Promise<{ rig: Rig; redis: RedisServer }> {
  const rig = new Rig(t); // first: its t.after runs before the redis-server's
  const redis = await startRedis(t);
  // last step before the kill, once every node is closed
  rig.defer(() => releaseStreamReaders(redis));
  return { rig, redis };
}

/** XREAD-blocked clients (not a client of ours: the Streams adapter's readers), as CLIENT LIST ids. */
async function blockedReaders(probe: NodeRedisClient): Promise<string[]> {
  const list = String(await probe.sendCommand(['CLIENT', 'LIST']));
  return list
    .split('\n')
    .filter((line) => /\bcmd=xread\b/.test(line) && /\bflags=\S*b/.test(line))
    .map((line) => /\bid=(\d+)/.exec(line)?.[1] as string);
}

/**
 * The Streams adapter's readers stop only when their XREAD returns (up to blockTimeInMs, 5 s), and
 * then disconnect: a reader whose server died first fails that disconnect (an unhandled rejection with
 * node-redis). Once the nodes are closed, unblock them and wait until they are gone.
 */
async function releaseStreamReaders(redis: RedisServer): Promise<void> {
  const probe = await connectNodeRedis(redis.url);
  try {
    for (const id of await blockedReaders(probe)) await probe.sendCommand(['CLIENT', 'UNBLOCK', id]);
    await eventually(async () => {
      const list = String(await probe.sendCommand(['CLIENT', 'LIST']));
      return !/\bcmd=xread\b/.test(list);
    }, 'stream readers gone');
  } finally {
    await closeNodeRedis(probe);
  }
}

/** A node-redis client on `redis`, closed by the rig. */
export async function nodeRedisClient(rig: Rig, redis: RedisServer): Promise<NodeRedisClient> {
  const client = await connectNodeRedis(redis.url);
  rig.defer(() => closeNodeRedis(client));
  return client;
}

/** An ioredis client on `redis` that gives up instead of reconnecting, closed by the rig. */
export async function ioRedisClient(rig: Rig, redis: RedisServer): Promise<Redis> {
  const client = new Redis({ host: '127.0.0.1', port: redis.port, retryStrategy: () => null, maxRetriesPerRequest: 1, lazyConnect: true });
  client.on('error', () => {});
  rig.defer(async () => {
    if (client.status === 'end') return;
    await within(client.quit(), 2000, 'ioredis quit').catch(() => client.disconnect());
  });
  await client.connect();
  return client;
}

export type RedisLibrary = 'node-redis' | 'ioredis';

/**
 * The official adapter of `kind` for one node, as its createAdapter() returns it, over `library`: the
 * classic and the sharded Redis adapters get a pub and a sub client, the Streams adapter one client
 * (it duplicates it for its readers).
 */
export async function makeAdapter(rig: Rig, redis: RedisServer, kind: AdapterKind, library: RedisLibrary = 'node-redis'): Promise<AdapterConstructor> {
  const client = (): Promise<NodeRedisClient | Redis> => (library === 'ioredis' ? ioRedisClient(rig, redis) : nodeRedisClient(rig, redis));
  if (kind === 'streams') return createStreamsAdapter(await client());
  const [pub, sub] = [await client(), await client()];
  return kind === 'redis' ? createRedisAdapter(pub, sub) : createShardedAdapter(pub, sub);
}

/** Every socket joins the rooms its client names in `auth.rooms`, and takes `auth.data` as its data. */
function onConnection(socket: { handshake: { auth: Record<string, unknown> }; data: unknown; join(rooms: string[]): unknown }): void {
  const { rooms, data } = socket.handshake.auth;
  if (Array.isArray(rooms)) void socket.join(rooms as string[]);
  if (data !== undefined) socket.data = data;
}

function trackConnections(server: http.Server): Set<NetSocket> {
  const sockets = new Set<NetSocket>();
  server.on('connection', (s: NetSocket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return sockets;
}

function closeOnce(fn: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= fn());
}

async function listenLoopback(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** One of our nodes: an Express app with socketio({ adapter, ...opts }), namespaces created up front. */
export async function startOurNode(rig: Rig, name: string, adapter: AdapterConstructor, opts: ServerOptions = {}, nsps: string[] = []): Promise<ClusterNode> {
  const app = express();
  const io = socketio({ adapter, ...opts });
  app.use(io);
  for (const nsp of ['/', ...nsps]) io.of(nsp).on('connection', onConnection as never);
  const server = http.createServer(app);
  const connections = trackConnections(server);
  const url = await listenLoopback(server);
  const close = closeOnce(async () => {
    await io.close();
    for (const s of connections) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  rig.defer(close);
  return { kind: 'ours', name, io: io as unknown as AnyIo, url, epoch: io.recovery.enabled ? io.offsets.epoch : undefined, close };
}

/** An official socket.io 4.8 node on its own HTTP server. */
export async function startOfficialNode(rig: Rig, name: string, adapter: AdapterConstructor, nsps: string[] = []): Promise<ClusterNode> {
  const server = http.createServer();
  const io = new OfficialServer(server, { adapter: adapter as never });
  for (const nsp of ['/', ...nsps]) io.of(nsp).on('connection', onConnection as never);
  const connections = trackConnections(server);
  const url = await listenLoopback(server);
  const close = closeOnce(async () => {
    const closed = io.close();
    for (const s of connections) s.destroy();
    await closed;
  });
  rig.defer(close);
  return { kind: 'official', name, io: io as unknown as AnyIo, url, epoch: undefined, close };
}

export interface JoinOptions {
  nsp?: string;
  rooms?: string[];
  data?: unknown;
  transports?: Array<'polling' | 'websocket'>;
}

/** An official socket.io-client connected to `node` (WebSocket unless told), closed by the rig. */
export async function join(rig: Rig, node: ClusterNode, { nsp = '/', rooms, data, transports = ['websocket'] }: JoinOptions = {}): Promise<ClusterClient> {
  const socket = ioClient(node.url + nsp, { forceNew: true, reconnection: false, transports, auth: { rooms, data } });
  rig.defer(() => closeClient(socket));
  await connected(socket);
  return { socket, node, id: socket.id as string };
}

const OFFSET_SHAPE = /^([0-9a-f]{8})\.[0-9a-z]+$/;

/**
 * The arguments of the next `ev` the client receives, without the recovery offset: a client of one of
 * our nodes with recovery on gets one as the last argument, and it must be that node's own (whichever
 * node the broadcast came from); a client of an official node gets exactly what was emitted.
 */
export async function next(client: ClusterClient, ev: string, ms?: number): Promise<unknown[]> {
  return withoutOffset(client, ev, await once(client.socket, ev, ms));
}

/** The arguments of the next `count` `ev` events, in order, each as next() gives them; bounded. */
export function take(client: ClusterClient, ev: string, count: number, ms = DEFAULT_WAIT_MS): Promise<unknown[][]> {
  const got: unknown[][] = [];
  let listener!: (...args: unknown[]) => void;
  return within(
    new Promise<unknown[][]>((resolve, reject) => {
      listener = (...args: unknown[]) => {
        try {
          got.push(withoutOffset(client, ev, args));
        } catch (err) {
          reject(err);
        }
        if (got.length === count) resolve(got);
      };
      client.socket.on(ev, listener);
    }),
    ms,
    `${count} "${ev}" on ${client.node.name}`,
  ).finally(() => client.socket.off(ev, listener));
}

function withoutOffset(client: ClusterClient, ev: string, args: unknown[]): unknown[] {
  const { epoch } = client.node;
  if (epoch === undefined) return args;
  const offset = args.pop();
  const match = typeof offset === 'string' ? OFFSET_SHAPE.exec(offset) : null;
  if (!match || match[1] !== epoch) throw new Error(`"${ev}" on ${client.node.name}: expected an offset of epoch ${epoch} last, got ${String(offset)}`);
  return args;
}

/** Names of the events a client receives, in order (see `marker`). */
export function record(client: ClusterClient): string[] {
  const seen: string[] = [];
  client.socket.onAny((ev: string) => seen.push(ev));
  return seen;
}

/** Resolves once `check()` holds (checked every 5 ms: no event says a remote node has done it); bounded. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Waits until the cluster is wired: every node's adapter counts every node in each namespace, and,
 * for the Streams adapter, each node's reader is blocked on XREAD (a message added before that would
 * be read by nobody: the readers start at `$`).
 */
export async function ready(redis: RedisServer | undefined, kind: ClusterAdapterKind, nodes: ClusterNode[], nsps: string[] = []): Promise<void> {
  for (const node of nodes) {
    for (const nsp of ['/', ...nsps]) {
      await eventually(async () => (await node.io.of(nsp).adapter.serverCount()) === nodes.length, `${node.name} ${nsp}: serverCount ${nodes.length}`);
    }
  }
  // Postgres: a node that counts the other has LISTENed on its channel (the count comes from its messages)
  if (kind !== 'streams' || redis === undefined) return;
  const probe = await connectNodeRedis(redis.url);
  try {
    await eventually(async () => (await blockedReaders(probe)).length >= nodes.length, 'stream readers blocked on XREAD');
  } finally {
    await closeNodeRedis(probe);
  }
}

/**
 * Sharded adapter, default "dynamic" mode: a node subscribes to a public room's own channel when the
 * room appears there. Resolves once `count` nodes listen on `room`'s channel.
 */
export async function shardedRoomReady(redis: RedisServer, room: string, count: number, nsp = '/'): Promise<void> {
  const probe = await connectNodeRedis(redis.url);
  try {
    await eventually(async () => {
      const reply = (await probe.sendCommand(['PUBSUB', 'SHARDNUMSUB', `socket.io#${nsp}#${room}#`])) as unknown[];
      return Number(reply[1]) >= count;
    }, `${count} subscribers of room ${room}`);
  } finally {
    await closeNodeRedis(probe);
  }
}

/** Bytes of a binary argument as the client hands it over (Buffer in Node, ArrayBuffer over polling). */
export function bytes(value: unknown): number[] {
  if (value instanceof ArrayBuffer) return [...new Uint8Array(value)];
  if (ArrayBuffer.isView(value)) return [...new Uint8Array(value.buffer, value.byteOffset, value.byteLength)];
  throw new Error(`not binary: ${String(value)}`);
}

/** The client's 'disconnect' reason, armed now. */
export function disconnected(client: ClusterClient, ms?: number): Promise<string> {
  return once<[string]>(client.socket, 'disconnect', ms).then(([reason]) => reason);
}
