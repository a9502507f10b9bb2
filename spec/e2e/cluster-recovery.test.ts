// Recovery across nodes on a RedisSessionStore: node A (a child process) dies, is closed, or loses its
// client; the official client, behind a proxy switched to node B, gets its session back there.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import type { Socket } from '../../lib/io/socket';
import { redisRig, type AdapterKind, type RedisLibrary, type Rig } from '../support/cluster';
import { closeClient, connected } from '../support/io';
import { redisMissing, type RedisServer } from '../support/redis';
import { clusterReady, forkNode, startLocalNode, storeKeys, type ChildNode, type LocalNode } from '../support/recovery-cluster';
import { startProxy, type TcpProxy } from '../support/tcp-proxy';
import { eventually } from '../support/cluster';
import { once, within } from '../support/wait';

type Transports = Array<'polling' | 'websocket'>;

interface Setup {
  rig: Rig;
  redis: RedisServer;
  a: ChildNode;
  b: LocalNode;
  c: LocalNode | undefined;
  proxy: TcpProxy;
  client: ClientSocket;
  /** The `news` events the client got, without their offsets, in order. */
  news: unknown[];
  /** Between A's session store and Redis, when asked for. */
  storeProxy: TcpProxy | undefined;
}

interface SetupOptions {
  reconnectTimeout?: number;
  /** Node B's store on an ioredis client rather than node-redis. */
  library?: RedisLibrary;
  /** Node A's store on an ioredis client (its takeover subscription too). */
  libraryOfA?: RedisLibrary;
  /** A third node, C, in this process. */
  third?: boolean;
  /** A's store reaches Redis through a proxy the test can cut. */
  storeProxy?: boolean;
}

/** A (child process) and B (here) on one Redis, a client of A through the proxy in room r1, with data. */
async function setup(t: TestContext, kind: AdapterKind, transports: Transports, { reconnectTimeout = 5000, storeProxy: wantsStoreProxy = false, library, libraryOfA, third = false }: SetupOptions = {}): Promise<Setup> {
  const { rig, redis } = await redisRig(t);
  const storeProxy = wantsStoreProxy ? await startProxy(t, redis.port) : undefined;
  const env: Record<string, string> = { RECONNECT_TIMEOUT: String(reconnectTimeout) };
  if (storeProxy) env.STORE_URL = `redis://127.0.0.1:${storeProxy.port}`;
  if (libraryOfA) env.STORE_LIBRARY = libraryOfA;
  const a = await forkNode(rig, redis, kind, env);
  const b = await startLocalNode(rig, redis, kind, { reconnectTimeout }, library);
  const c = third ? await startLocalNode(rig, redis, kind, { reconnectTimeout }) : undefined;
  await clusterReady(redis, kind, b.io, c ? 3 : 2);
  const proxy = await startProxy(t, a.port);
  const client = ioClient(proxy.url, {
    forceNew: true,
    transports,
    reconnectionDelay: 20,
    reconnectionDelayMax: 50,
    auth: { rooms: ['r1'], data: { user: 'ann' } },
  });
  rig.defer(() => closeClient(client));
  await connected(client);
  const news: unknown[] = [];
  client.on('news', (value: unknown) => news.push(value));
  // one packet through A before anything goes wrong: the client holds one of A's offsets
  const first = once(client, 'news');
  await a.run({ type: 'room', room: 'r1', ev: 'news', args: ['a1'] });
  await first;
  return { rig, redis, a, b, c, proxy, client, news, storeProxy };
}

/** What A sends while the proxy holds its bytes back: the client never gets them from A. */
async function sendUnseen(s: Setup): Promise<void> {
  s.proxy.pause();
  await s.a.run({ type: 'room', room: 'r1', ev: 'news', args: ['a2'] });
  await s.a.run({ type: 'direct', sid: s.client.id as string, ev: 'news', args: ['a3'] });
}

/** Lets the client reconnect, through the proxy, to B; resolves with B's socket for it and the client's 'connect'. */
async function reconnectToB(s: Setup): Promise<Socket> {
  const connection = once<[Socket]>(s.b.io.of('/'), 'connection', 5000);
  const connect = once(s.client, 'connect', 5000);
  s.proxy.target = s.b.port;
  s.proxy.resume();
  s.proxy.heal();
  const [[socket]] = await Promise.all([connection, connect]);
  return socket;
}

/** The session is the same on B: id, rooms, data; the client says it recovered. */
function assertRecovered(s: Setup, socket: Socket, id: string): void {
  assert.equal(s.client.recovered, true, 'client.recovered');
  assert.equal(s.client.id, id);
  assert.equal(socket.id, id);
  assert.equal(socket.recovered, true, 'socket.recovered on B');
  assert.ok(socket.rooms.has('r1'), 'still in r1');
  assert.deepEqual(socket.data, { user: 'ann' });
}

/** The next socket that leaves on A: its id, reason and description. */
function leavesA(a: ChildNode): Promise<{ sid: string; reason: string; description: unknown }> {
  let listener!: (m: { type?: string; sid: string; reason: string; description: unknown }) => void;
  return within(
    new Promise<{ sid: string; reason: string; description: unknown }>((resolve) => {
      listener = (m) => {
        if (m?.type === 'disconnect') resolve(m);
      };
      a.process.on('message', listener);
    }),
    5000,
    'a disconnect on A',
  ).finally(() => a.process.off('message', listener));
}

/** Everything before a marker sent by B has arrived. */
async function markerFrom(s: Setup, socket: Socket): Promise<void> {
  const got = once(s.client, 'marker');
  socket.emit('marker');
  await got;
}

const KINDS: ReadonlyArray<[AdapterKind, string]> = [
  ['redis', '@socket.io/redis-adapter'],
  ['streams', '@socket.io/redis-streams-adapter'],
];
const TRANSPORTS: Transports[] = [['websocket'], ['polling']];

for (const [kind, title] of KINDS) {
  describe(`recovery across nodes, RedisSessionStore with ${title}`, { skip: redisMissing() }, () => {
    for (const transports of TRANSPORTS) {
      test(`a client of a SIGKILLed node resumes on another with what it missed (${transports.join('+')})`, { timeout: 30000 }, async (t) => {
        const s = await setup(t, kind, transports, { third: true });
        const c = s.c as LocalNode;
        const id = s.client.id as string;
        await sendUnseen(s);
        s.proxy.cut();
        await s.a.kill('SIGKILL');
        // the dead window: B and C send to the room before the client is back, and C to another room
        s.b.io.to('r1').emit('news', 'b1');
        c.io.to('r1').emit('news', 'c1');
        c.io.to('r2').emit('news', 'not for r1');
        await Promise.all([s.b.flushed(), c.flushed()]);
        const socket = await reconnectToB(s);
        assertRecovered(s, socket, id);
        await markerFrom(s, socket);
        // A's stream in its order, then the dead window's packets once each (two origins: no order between them)
        assert.deepEqual(s.news.slice(0, 3), ['a1', 'a2', 'a3']);
        assert.deepEqual(s.news.slice(3).sort(), ['b1', 'c1']);
      });
    }

    test('a client of a SIGKILLed node resumes on another whose store runs on ioredis', { timeout: 30000 }, async (t) => {
      const s = await setup(t, kind, ['websocket'], { library: 'ioredis' });
      const id = s.client.id as string;
      await sendUnseen(s);
      s.proxy.cut();
      await s.a.kill('SIGKILL');
      s.b.io.to('r1').emit('news', 'b1');
      await s.b.flushed();
      const socket = await reconnectToB(s);
      assertRecovered(s, socket, id);
      await markerFrom(s, socket);
      assert.deepEqual(s.news, ['a1', 'a2', 'a3', 'b1']);
    });

    test('a session that moved to a second node moves again when that one dies too', { timeout: 40000 }, async (t) => {
      const s = await setup(t, kind, ['websocket'], { third: true });
      const c = s.c as LocalNode;
      const id = s.client.id as string;
      // the second node is a child process too: forked now, on the same Redis
      const b2 = await forkNode(s.rig, s.redis, kind);
      await clusterReady(s.redis, kind, c.io, 4);
      s.proxy.cut();
      await s.a.kill('SIGKILL');
      const back = once(s.client, 'connect', 5000);
      s.proxy.target = b2.port;
      s.proxy.heal();
      await back;
      assert.equal(s.client.recovered, true, 'recovered on the second node');
      // what the second node sends before it dies, never seen: the client still holds only A's offset
      s.proxy.pause();
      await b2.run({ type: 'room', room: 'r1', ev: 'news', args: ['b2'] });
      s.proxy.cut();
      await b2.kill('SIGKILL');
      c.io.to('r1').emit('news', 'c1');
      await c.flushed();
      const connection = once<[Socket]>(c.io.of('/'), 'connection', 5000);
      const connect = once(s.client, 'connect', 5000);
      s.proxy.target = c.port;
      s.proxy.resume();
      s.proxy.heal();
      const [[socket]] = await Promise.all([connection, connect]);
      assert.equal(s.client.recovered, true, 'recovered on the third node');
      assert.equal(socket.id, id);
      assert.deepEqual(socket.data, { user: 'ann' });
      const got = once(s.client, 'marker');
      socket.emit('marker');
      await got;
      assert.deepEqual(s.news, ['a1', 'b2', 'c1']);
    });

    test('a client of a node closed cleanly (SIGTERM, io.close) resumes on another', { timeout: 30000 }, async (t) => {
      const s = await setup(t, kind, ['websocket']);
      const id = s.client.id as string;
      await sendUnseen(s);
      s.proxy.cut();
      await s.a.run({ type: 'close' });
      await s.a.kill('SIGTERM');
      s.b.io.to('r1').emit('news', 'b1');
      await s.b.flushed();
      const socket = await reconnectToB(s);
      assertRecovered(s, socket, id);
      await markerFrom(s, socket);
      assert.deepEqual(s.news, ['a1', 'a2', 'a3', 'b1']);
    });

    for (const [cut, libraryOfA] of [['drop', 'node-redis'], ['halfOpen', 'node-redis'], ['drop', 'ioredis']] as const) {
      test(`a client that leaves a live node (${cut}, its store on ${libraryOfA}) resumes on another, which takes the session over`, { timeout: 30000 }, async (t) => {
        const s = await setup(t, kind, ['websocket'], { libraryOfA });
        const id = s.client.id as string;
        await sendUnseen(s);
        const left = leavesA(s.a);
        s.proxy.target = s.b.port;
        // the next connection goes to B; A sees its transport close, or (half-open) nothing at all
        if (cut === 'drop') s.proxy.drop();
        else s.proxy.halfOpen();
        s.proxy.refuse();
        s.b.io.to('r1').emit('news', 'b1');
        await s.b.flushed();
        const socket = await reconnectToB(s);
        assertRecovered(s, socket, id);
        // A dropped its copy before B took the session: the cluster knows it once, on B, from the start
        const listed = (await s.b.io.fetchSockets()).map((remote) => remote.id);
        assert.deepEqual(listed, [id]);
        const gone = await left;
        assert.equal(gone.sid, id);
        assert.equal(gone.description, 'taken over by another node');
        await markerFrom(s, socket);
        assert.deepEqual(s.news, ['a1', 'a2', 'a3', 'b1']);
      });
    }

    test('after reconnectTimeout the session is gone: the client connects afresh, the dead node\'s keys expire', { timeout: 30000 }, async (t) => {
      const s = await setup(t, kind, ['websocket'], { reconnectTimeout: 1000 });
      const id = s.client.id as string;
      s.proxy.cut();
      await s.a.kill('SIGKILL');
      const keysOfA = async (): Promise<string[]> => (await storeKeys(s.b.storeClient)).filter((key) => key.endsWith(`:${s.a.epoch}`));
      assert.ok((await keysOfA()).length > 0, 'A left a record and a log');
      // the keys live reconnectTimeout + 5 s past A's last refresh
      await eventually(async () => (await keysOfA()).length === 0, "A's keys expired", 15000);
      const socket = await reconnectToB(s);
      assert.equal(s.client.recovered, false);
      assert.notEqual(s.client.id, id);
      assert.equal(socket.recovered, false);
      assert.equal(s.b.io.metrics.unknownSession, 1);
    });

    test('while its store cannot reach Redis a node still delivers; a restore that needs a lost write fails', { timeout: 30000 }, async (t) => {
      const s = await setup(t, kind, ['websocket'], { storeProxy: true });
      const storeProxy = s.storeProxy as TcpProxy;
      const id = s.client.id as string;
      storeProxy.cut();
      await s.a.run({ type: 'storeDown', noFlush: true });
      // local delivery goes on: what A emits reaches its client at once
      const a2 = once(s.client, 'news');
      await s.a.run({ type: 'room', room: 'r1', ev: 'news', args: ['a2'], noFlush: true });
      await a2;
      // and what the client misses now is written nowhere
      s.proxy.pause();
      await s.a.run({ type: 'room', room: 'r1', ev: 'news', args: ['a3'], noFlush: true });
      storeProxy.heal();
      // back: the store's link reconnects by itself (a PING through it answers)
      await s.a.run({ type: 'flush' });
      assert.equal(s.a.process.exitCode, null, 'A is still running: no unhandled rejection');
      s.proxy.cut();
      await s.a.kill('SIGKILL');
      const socket = await reconnectToB(s);
      assert.equal(s.client.recovered, false, 'a3 was lost: no recovery rather than a silent gap');
      assert.notEqual(socket.id, id);
      assert.equal(s.b.io.metrics.gap, 1);
      assert.deepEqual(s.news, ['a1', 'a2']);
    });
  });
}
