// What a two-node cluster must do, each operation started on node A and observed on both: run over
// every official adapter, with two nodes of ours and with ours next to an official socket.io node.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { Emitter } from '@socket.io/redis-emitter';
import type { AdapterConstructor, ServerOptions } from '../../lib/index';
import {
  bytes,
  disconnected,
  eventually,
  join,
  makeAdapter,
  next,
  nodeRedisClient,
  ready,
  record,
  redisRig,
  shardedRoomReady,
  startOfficialNode,
  startOurNode,
  take,
  type AdapterKind,
  type AnyRemoteSocket,
  type ClusterAdapterKind,
  type ClusterClient,
  type ClusterNode,
  type NodeKind,
  type RedisLibrary,
  type Rig,
} from './cluster';
import type { RedisServer } from './redis';
import { once } from './wait';

export interface NodeSpec {
  kind: NodeKind;
  /** Options of our node (ignored for an official one). */
  opts?: ServerOptions;
}

export interface Pair {
  readonly rig: Rig;
  /** The Redis server the adapters use (undefined over Postgres). */
  readonly redis: RedisServer | undefined;
  readonly kind: ClusterAdapterKind;
  /** Where each operation starts. */
  readonly a: ClusterNode;
  readonly b: ClusterNode;
}

/** Namespaces both nodes declare besides '/'. */
const NSPS = ['/chat'];

/** A redis-server, nodes A and B on it with `kind` adapters (over `library`), wired and ready. */
export async function startPair(t: TestContext, kind: AdapterKind, specs: [NodeSpec, NodeSpec], library: RedisLibrary = 'node-redis'): Promise<Pair> {
  const { rig, redis } = await redisRig(t);
  return startPairOn(rig, redis, kind, specs, () => makeAdapter(rig, redis, kind, library));
}

/** Nodes A and B on `rig`, each with its own adapter from `adapter()`, wired and ready: any backend (Postgres too). */
export async function startPairOn(
  rig: Rig,
  redis: RedisServer | undefined,
  kind: ClusterAdapterKind,
  [specA, specB]: [NodeSpec, NodeSpec],
  adapter: () => AdapterConstructor | Promise<AdapterConstructor>,
): Promise<Pair> {
  const start = async (spec: NodeSpec, name: string): Promise<ClusterNode> => {
    const made = await adapter();
    return spec.kind === 'ours' ? startOurNode(rig, name, made, spec.opts, NSPS) : startOfficialNode(rig, name, made, NSPS);
  };
  const a = await start(specA, 'A');
  const b = await start(specB, 'B');
  await ready(redis, kind, [a, b], NSPS);
  return { rig, redis, kind, a, b };
}

function redisOf(p: Pair): RedisServer {
  if (!p.redis) throw new Error(`${p.kind}: this operation needs a Redis pair`);
  return p.redis;
}

/** With the sharded adapter's dynamic subscriptions, a public room is only heard once its nodes subscribed. */
async function roomReady(p: Pair, room: string, count: number, nsp = '/'): Promise<void> {
  if (p.kind === 'sharded') await shardedRoomReady(redisOf(p), room, count, nsp);
}

/** Arms a wait for `marker` on every client, returning each client's recorded event names up to it. */
function untilMarker(clients: ClusterClient[]): { seen: string[][]; done: Promise<unknown> } {
  const seen = clients.map(record);
  return { seen, done: Promise.all(clients.map((c) => once(c.socket, 'marker'))) };
}

function answerWith(client: ClusterClient, name: string): void {
  client.socket.on('q', (x: unknown, ack: (answer: string) => void) => ack(`${name}:${String(x)}`));
}

const sorted = (values: unknown[]): unknown[] => [...values].sort();

type Op = (p: Pair) => Promise<void>;

export const OPERATIONS: ReadonlyArray<readonly [string, Op]> = [
  [
    'broadcasts to every client of both nodes (WebSocket and polling clients)',
    async (p) => {
      const ca = await join(p.rig, p.a);
      const cb = await join(p.rig, p.b, { transports: ['polling'] });
      const got = [next(ca, 'news'), next(cb, 'news')];
      p.a.io.emit('news', 1, 'two', { three: [3] });
      assert.deepEqual(await Promise.all(got), [
        [1, 'two', { three: [3] }],
        [1, 'two', { three: [3] }],
      ]);
    },
  ],
  [
    'to(room), except(room) and socket.broadcast select the same clients on both nodes',
    async (p) => {
      const [a1, a2] = [await join(p.rig, p.a, { rooms: ['room'] }), await join(p.rig, p.a)];
      const [b1, b2] = [await join(p.rig, p.b, { rooms: ['room'] }), await join(p.rig, p.b)];
      const all = [a1, a2, b1, b2];
      await roomReady(p, 'room', 2);

      let round = untilMarker(all);
      const inRoom = [next(a1, 'to'), next(b1, 'to')];
      p.a.io.to('room').emit('to', 1);
      p.a.io.emit('marker');
      await round.done;
      assert.deepEqual(await Promise.all(inRoom), [[1], [1]]);
      assert.deepEqual(round.seen, [['to', 'marker'], ['marker'], ['to', 'marker'], ['marker']]);

      round = untilMarker(all);
      p.a.io.except('room').emit('except', 2);
      p.a.io.emit('marker');
      await round.done;
      assert.deepEqual(round.seen, [['marker'], ['except', 'marker'], ['marker'], ['except', 'marker']]);

      round = untilMarker(all);
      const sender = p.a.io.of('/').sockets.get(a1.id);
      assert.ok(sender);
      sender.broadcast.emit('others', 3);
      p.a.io.emit('marker');
      await round.done;
      assert.deepEqual(round.seen, [['marker'], ['others', 'marker'], ['others', 'marker'], ['others', 'marker']]);
    },
  ],
  [
    'carries binary payloads to both nodes',
    async (p) => {
      const ca = await join(p.rig, p.a);
      const cb = await join(p.rig, p.b);
      const got = [next(ca, 'bin'), next(cb, 'bin')];
      p.a.io.emit('bin', Buffer.from([1, 2, 3]), { nested: Buffer.from('hi'), n: 1 });
      for (const [raw, { nested, n }] of (await Promise.all(got)) as Array<[unknown, { nested: unknown; n: number }]>) {
        assert.deepEqual(bytes(raw), [1, 2, 3]);
        assert.deepEqual(bytes(nested), [...Buffer.from('hi')]);
        assert.equal(n, 1);
      }
    },
  ],
  [
    'broadcasts in another namespace reach that namespace on both nodes, and only it',
    async (p) => {
      const ca = await join(p.rig, p.a, { nsp: '/chat', rooms: ['topic'] });
      const cb = await join(p.rig, p.b, { nsp: '/chat', rooms: ['topic'] });
      const main = await join(p.rig, p.b, { rooms: ['topic'] });
      await roomReady(p, 'topic', 2, '/chat');
      const got = [take(ca, 'chat', 2), take(cb, 'chat', 2)];
      const round = untilMarker([main]);
      p.a.io.of('/chat').emit('chat', 'all');
      p.a.io.of('/chat').to('topic').emit('chat', 'topic');
      p.a.io.emit('marker');
      assert.deepEqual(await Promise.all(got), [
        [['all'], ['topic']],
        [['all'], ['topic']],
      ]);
      await round.done;
      assert.deepEqual(round.seen, [['marker']]);
    },
  ],
  [
    'fetchSockets returns the sockets of both nodes, with their data, rooms and handshake',
    async (p) => {
      const ca = await join(p.rig, p.a, { rooms: ['r1'], data: { name: 'a' } });
      const cb = await join(p.rig, p.b, { rooms: ['r1', 'r2'], data: { name: 'b' } });
      const found = await p.a.io.fetchSockets();
      assert.deepEqual(sorted(found.map((s) => s.id)), sorted([ca.id, cb.id]));
      const remote = found.find((s) => s.id === cb.id) as AnyRemoteSocket;
      assert.deepEqual(remote.data, { name: 'b' });
      assert.deepEqual(sorted([...remote.rooms]), sorted([cb.id, 'r1', 'r2']));
      assert.deepEqual(remote.handshake.auth, { rooms: ['r1', 'r2'], data: { name: 'b' } });
      const local = found.find((s) => s.id === ca.id) as AnyRemoteSocket;
      assert.deepEqual(local.data, { name: 'a' });
      assert.deepEqual((await p.a.io.in('r2').fetchSockets()).map((s) => s.id), [cb.id]);
      assert.deepEqual((await p.a.io.except('r2').fetchSockets()).map((s) => s.id), [ca.id]);
      assert.deepEqual(sorted((await p.a.io.of('/chat').fetchSockets()).map((s) => s.id)), []);
    },
  ],
  [
    'a socket fetched from the other node emits (with an ack too), joins, leaves and disconnects there',
    async (p) => {
      const cb = await join(p.rig, p.b, { rooms: ['r1'] });
      answerWith(cb, 'b');
      const [remote] = await p.a.io.in(cb.id).fetchSockets();
      assert.equal(remote?.id, cb.id);
      const hello = next(cb, 'hello');
      remote.emit('hello', 1, Buffer.from([7]));
      const [n, raw] = await hello;
      assert.equal(n, 1);
      assert.deepEqual(bytes(raw), [7]);
      // one client: its answer itself, not a list
      assert.equal(await remote.timeout(2000).emitWithAck('q', 5), 'b:5');
      const [err, answer] = await new Promise<unknown[]>((resolve) => {
        remote.timeout(2000).emit('q', 6, (...args: unknown[]) => resolve(args));
      });
      assert.equal(err, null);
      assert.equal(answer, 'b:6');
      const bRooms = p.b.io.of('/').adapter.rooms;
      void remote.join('r3');
      await eventually(() => bRooms.get('r3')?.has(cb.id) === true, 'remote join');
      void remote.leave('r1');
      await eventually(() => bRooms.get('r1')?.has(cb.id) !== true, 'remote leave');
      assert.deepEqual((await p.a.io.in('r3').fetchSockets()).map((s) => s.id), [cb.id]);
      const reason = disconnected(cb);
      void remote.disconnect();
      assert.equal(await reason, 'io server disconnect');
    },
  ],
  [
    'socketsJoin and socketsLeave act on the sockets of both nodes',
    async (p) => {
      const ca = await join(p.rig, p.a);
      const cb = await join(p.rig, p.b);
      const aRooms = p.a.io.of('/').adapter.rooms;
      const bRooms = p.b.io.of('/').adapter.rooms;
      p.a.io.socketsJoin(['all', 'more']);
      await eventually(() => aRooms.get('all')?.has(ca.id) === true && bRooms.get('all')?.has(cb.id) === true && bRooms.get('more')?.has(cb.id) === true, 'socketsJoin');
      p.a.io.in(cb.id).socketsLeave('all');
      await eventually(() => bRooms.get('all')?.has(cb.id) !== true, 'socketsLeave');
      assert.equal(aRooms.get('all')?.has(ca.id), true);
      await roomReady(p, 'more', 2);
      const round = untilMarker([ca, cb]);
      p.a.io.to('all').emit('to-all');
      p.a.io.to('more').emit('to-more');
      p.a.io.emit('marker');
      await round.done;
      assert.deepEqual(round.seen, [
        ['to-all', 'to-more', 'marker'],
        ['to-more', 'marker'],
      ]);
    },
  ],
  [
    'disconnectSockets disconnects the selected sockets of both nodes',
    async (p) => {
      const ca = await join(p.rig, p.a, { rooms: ['r1'] });
      const cb = await join(p.rig, p.b, { rooms: ['r1'] });
      const stays = await join(p.rig, p.b);
      const reasons = [disconnected(ca), disconnected(cb)];
      p.a.io.in('r1').disconnectSockets();
      assert.deepEqual(await Promise.all(reasons), ['io server disconnect', 'io server disconnect']);
      const marker = once(stays.socket, 'marker');
      p.a.io.emit('marker');
      await marker;
      assert.equal(stays.socket.connected, true);
    },
  ],
  [
    'serverSideEmit reaches the other node and not the sender',
    async (p) => {
      const onA: unknown[][] = [];
      p.a.io.on('hello', (...args: unknown[]) => onA.push(args));
      const onB = once(p.b.io.of('/') as never, 'hello');
      p.a.io.serverSideEmit('hello', 1, 'two', { three: 3 });
      assert.deepEqual(await onB, [1, 'two', { three: 3 }]);
      // B answers after A's message was delivered everywhere: A had it by then, had it listened to itself
      const back = once(p.a.io.of('/') as never, 'back');
      p.b.io.serverSideEmit('back');
      await back;
      assert.deepEqual(onA, []);
    },
  ],
  [
    'serverSideEmit with an ack collects the other node’s answer',
    async (p) => {
      p.a.io.on('double', (_n: number, ack: (v: unknown) => void) => ack('from A itself'));
      p.b.io.on('double', (n: number, ack: (v: unknown) => void) => ack(n * 2));
      assert.deepEqual(await p.a.io.serverSideEmitWithAck('double', 21), [42]);
      const [err, responses] = await new Promise<unknown[]>((resolve) => {
        p.a.io.serverSideEmit('double', 2, (...args: unknown[]) => resolve(args));
      });
      assert.equal(err, null);
      assert.deepEqual(responses, [4]);
    },
  ],
  [
    'a broadcast with an ack collects the answers of clients on both nodes',
    async (p) => {
      const ca = await join(p.rig, p.a, { rooms: ['r'] });
      const cb = await join(p.rig, p.b, { rooms: ['r'] });
      const cb2 = await join(p.rig, p.b);
      answerWith(ca, 'a');
      answerWith(cb, 'b');
      answerWith(cb2, 'b2');
      assert.deepEqual(sorted(await p.a.io.timeout(2000).emitWithAck('q', 1)), ['a:1', 'b2:1', 'b:1']);
      const [err, responses] = await new Promise<unknown[]>((resolve) => {
        p.a.io.to('r').timeout(2000).emit('q', 2, (...args: unknown[]) => resolve(args));
      });
      assert.equal(err, null);
      assert.deepEqual(sorted(responses as unknown[]), ['a:2', 'b:2']);
    },
  ],
  [
    'serverCount counts both nodes, then one once the other is closed',
    async (p) => {
      assert.equal(await p.a.io.of('/').adapter.serverCount(), 2);
      assert.equal(await p.b.io.of('/').adapter.serverCount(), 2);
      assert.equal(await p.a.io.of('/chat').adapter.serverCount(), 2);
      const ca = await join(p.rig, p.a);
      answerWith(ca, 'a');
      await p.b.close();
      await eventually(async () => (await p.a.io.of('/').adapter.serverCount()) === 1, 'serverCount 1');
      // the ack broadcast no longer waits for the closed node
      assert.deepEqual(await p.a.io.timeout(2000).emitWithAck('q', 3), ['a:3']);
    },
  ],
];

/** What a plain process emits through Redis with @socket.io/redis-emitter (the classic adapter's channels). */
export const EMITTER_OPERATIONS: ReadonlyArray<readonly [string, Op]> = [
  [
    '@socket.io/redis-emitter from a non-server process reaches clients on both nodes',
    async (p) => {
      const emitter = new Emitter(await nodeRedisClient(p.rig, redisOf(p)));
      const ca = await join(p.rig, p.a, { rooms: ['r'] });
      const cb = await join(p.rig, p.b);
      const chatA = await join(p.rig, p.a, { nsp: '/chat' });
      const chatB = await join(p.rig, p.b, { nsp: '/chat' });

      const got = [next(ca, 'news'), next(cb, 'news')];
      emitter.emit('news', 1, { two: 2 });
      assert.deepEqual(await Promise.all(got), [[1, { two: 2 }], [1, { two: 2 }]]);

      const round = untilMarker([ca, cb]);
      emitter.to('r').emit('room-only');
      emitter.emit('marker');
      await round.done;
      assert.deepEqual(round.seen, [['room-only', 'marker'], ['marker']]);

      const chat = [next(chatA, 'chat'), next(chatB, 'chat')];
      emitter.of('/chat').emit('chat', 'hi');
      assert.deepEqual(await Promise.all(chat), [['hi'], ['hi']]);

      const bin = [next(ca, 'bin'), next(cb, 'bin')];
      emitter.emit('bin', Buffer.from([9, 8]));
      for (const [raw] of await Promise.all(bin)) assert.deepEqual(bytes(raw), [9, 8]);

      const onA = once(p.a.io.of('/') as never, 'from-emitter');
      const onB = once(p.b.io.of('/') as never, 'from-emitter');
      emitter.serverSideEmit('from-emitter', 5);
      assert.deepEqual(await Promise.all([onA, onB]), [[5], [5]]);

      const reasons = [disconnected(ca)];
      emitter.in('r').disconnectSockets();
      assert.deepEqual(await Promise.all(reasons), ['io server disconnect']);
    },
  ],
];
