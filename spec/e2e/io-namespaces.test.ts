// Namespaces with the official socket.io-client: static, multiplexed, dynamic (RegExp / function),
// refused, and the connectTimeout of a session that joins none.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  connectIo,
  connectNamespace,
  connectPair,
  openIo,
  recordEvents,
  serverSocketOf,
  startIo,
  TRANSPORT_SETS,
  type ServerSocket,
} from '../support/io';
import { handshake, request } from '../support/raw-http';
import { collect, once } from '../support/wait';
import type { Namespace } from '../../lib/index';

/** The error a client socket's 'connect_error' carries. */
type ConnectError = Error & { data?: { namespaces?: string[] } & Record<string, unknown> };

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io namespaces over ${name}`, () => {
    test('keeps io.of(nsp) events and sockets apart from the main namespace', async (t) => {
      const { io, url } = await startIo(t);
      const adminConnection = once<[ServerSocket]>(io.of('/admin'), 'connection');
      const main = await connectIo(t, url, transports);
      const admin = await connectNamespace(main, '/admin');
      const [adminSocket] = await adminConnection;
      assert.equal(adminSocket.nsp.name, '/admin');
      assert.equal(adminSocket.id, admin.id);
      assert.equal(io.sockets.sockets.has(adminSocket.id), false);
      const mainSeen = recordEvents(main);
      const adminSeen = recordEvents(admin);
      const got = [once(main, 'marker'), once(admin, 'marker')];
      io.emit('main-only');
      io.of('/admin').emit('admin-only');
      io.emit('marker');
      io.of('/admin').emit('marker');
      await Promise.all(got);
      assert.deepEqual(mainSeen, ['main-only', 'marker']);
      assert.deepEqual(adminSeen, ['admin-only', 'marker']);
    });

    test('multiplexes the namespaces of io(url) and io(url + "/admin") over one Manager and one session', async (t) => {
      const { io, url } = await startIo(t);
      io.of('/admin');
      const main = await connectIo(t, url, transports, { forceNew: false });
      const admin = await connectIo(t, `${url}/admin`, transports, { forceNew: false, awaitUpgrade: false });
      assert.equal(admin.io, main.io);
      const mainSocket = serverSocketOf(io, main);
      const adminSocket = serverSocketOf(io, admin, '/admin');
      assert.equal(adminSocket.conn, mainSocket.conn);
      // socket.client is each socket's own link (send queue, replay log); the connection under it is shared
      assert.equal(adminSocket.client.conn, mainSocket.client.conn);
      assert.equal(adminSocket.client.sockets, mainSocket.client.sockets);
      assert.notEqual(adminSocket.id, mainSocket.id);
      assert.equal(io.engine.clientsCount, 1);
      adminSocket.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(['admin', v]));
      mainSocket.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(['main', v]));
      assert.deepEqual(await admin.timeout(2000).emitWithAck('echo', 1), ['admin', 1]);
      assert.deepEqual(await main.timeout(2000).emitWithAck('echo', 2), ['main', 2]);
    });

    test('re-joins a namespace over the same session after the client left it', async (t) => {
      const { io, url } = await startIo(t);
      const adminNsp = io.of('/admin');
      const main = await connectIo(t, url, transports);
      const admin = await connectNamespace(main, '/admin');
      const firstId = admin.id as string;
      const left = once(serverSocketOf(io, admin, '/admin'), 'disconnect');
      admin.disconnect();
      assert.equal((await left)[0], 'client namespace disconnect');
      const rejoined = once<[ServerSocket]>(adminNsp, 'connection');
      admin.connect();
      const [socket] = await rejoined;
      assert.notEqual(socket.id, firstId);
      assert.equal(socket.conn, serverSocketOf(io, main).conn);
      socket.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      assert.equal(await admin.timeout(2000).emitWithAck('echo', 'back'), 'back');
      assert.equal(adminNsp.sockets.size, 1);
    });

    test('creates child namespaces on demand for names matching a RegExp', async (t) => {
      const { io, url } = await startIo(t);
      const parent = io.of(/^\/dyn-\d+$/);
      const connection = once<[ServerSocket]>(parent, 'connection');
      const main = await connectIo(t, url, transports);
      const dyn = await connectNamespace(main, '/dyn-42');
      const [socket] = await connection;
      assert.equal(socket.nsp.name, '/dyn-42');
      assert.equal(socket.id, dyn.id);
      assert.equal(io._nsps.has('/dyn-42'), true);
      const refused = once<[ConnectError]>(main.io.socket('/dyn-x'), 'connect_error');
      assert.equal((await refused)[0].message, 'Invalid namespace');
    });

    test('creates child namespaces for names a function allows asynchronously', async (t) => {
      const { io, url } = await startIo(t);
      const asked: string[] = [];
      const parent = io.of((nsp, auth, next) => {
        asked.push(nsp);
        setImmediate(() => next(null, auth.key === 'open sesame'));
      });
      const connection = once<[ServerSocket]>(parent, 'connection');
      const main = await connectIo(t, url, transports);
      const allowed = await connectNamespace(main, '/fn-a', { auth: { key: 'open sesame' } });
      const [socket] = await connection;
      assert.equal(socket.nsp.name, '/fn-a');
      assert.equal(socket.id, allowed.id);
      const refused = once<[ConnectError]>(main.io.socket('/fn-b', { auth: { key: 'wrong' } }), 'connect_error');
      assert.equal((await refused)[0].message, 'Invalid namespace');
      assert.deepEqual(asked, ['/fn-a', '/fn-b']);
      assert.equal(main.connected, true);
    });

    test('runs the parent namespace middleware for its children', async (t) => {
      const { io, url } = await startIo(t);
      const parent = io.of(/^\/team-/);
      parent.use((socket, next) => {
        if (socket.handshake.auth.member !== true) {
          next(Object.assign(new Error('members only'), { data: { nsp: socket.nsp.name } }));
          return;
        }
        socket.data = { checkedBy: 'parent' };
        next();
      });
      const connection = once<[ServerSocket]>(parent, 'connection');
      const main = await connectIo(t, url, transports);
      await connectNamespace(main, '/team-a', { auth: { member: true } });
      const [socket] = await connection;
      assert.deepEqual(socket.data, { checkedBy: 'parent' });
      const refused = once<[ConnectError]>(main.io.socket('/team-b', { auth: {} }), 'connect_error');
      const [err] = await refused;
      assert.equal(err.message, 'members only');
      assert.deepEqual(err.data, { nsp: '/team-b' });
    });

    test('delivers a parent namespace emit to every child', async (t) => {
      const { io, url } = await startIo(t);
      const parent = io.of(/^\/room-\d$/);
      const main = await connectIo(t, url, transports);
      const one = await connectNamespace(main, '/room-1');
      const two = await connectNamespace(main, '/room-2');
      const got = [once(one, 'news'), once(two, 'news')];
      parent.emit('news', 'to all children');
      assert.deepEqual(await Promise.all(got), [['to all children'], ['to all children']]);
    });

    test('delivers parent.to(room) and parent.except(room) emits to the matching sockets of every child', async (t) => {
      const { io, url } = await startIo(t);
      const parent = io.of(/^\/room-\d$/);
      const main = await connectIo(t, url, transports);
      const one = await connectNamespace(main, '/room-1');
      const two = await connectNamespace(main, '/room-2');
      const seen = [recordEvents(one), recordEvents(two)];
      await serverSocketOf(io, two, '/room-2').join('vip');
      parent.to('vip').emit('vip-news');
      parent.except('vip').emit('other-news');
      const markers = [once(one, 'marker'), once(two, 'marker')];
      parent.emit('marker');
      await Promise.all(markers);
      assert.deepEqual(seen, [['other-news', 'marker'], ['vip-news', 'marker']]);
    });

    test('collects one answer per socket of every child for parent.timeout(ms).emit', async (t) => {
      const { io, url } = await startIo(t);
      const parent = io.of(/^\/room-\d$/);
      const main = await connectIo(t, url, transports);
      const children = [await connectNamespace(main, '/room-1'), await connectNamespace(main, '/room-2')];
      for (const c of children) c.on('q', (ack: (v: string) => void) => ack(c.id as string));
      const responses = await parent.timeout(2000).emitWithAck('q');
      assert.deepEqual([...(responses as string[])].sort(), children.map((c) => c.id).sort());
      const sockets = await parent.fetchSockets();
      assert.deepEqual(sockets.map((s) => s.id).sort(), children.map((c) => c.id).sort());
    });

    test('removes an emptied child namespace with cleanupEmptyChildNamespaces and creates it anew', async (t) => {
      const { io, url } = await startIo(t, { cleanupEmptyChildNamespaces: true });
      const parent = io.of(/^\/tmp-/);
      const created: string[] = [];
      io.on('new_namespace', (nsp: Namespace) => created.push(nsp.name));
      const main = await connectIo(t, url, transports);
      const tmp = await connectNamespace(main, '/tmp-1');
      const child = serverSocketOf(io, tmp, '/tmp-1').nsp;
      const left = once(child, 'disconnect');
      tmp.disconnect();
      await left;
      assert.equal(io._nsps.has('/tmp-1'), false);
      assert.equal((parent as unknown as { children: Set<unknown> }).children.has(child), false);
      tmp.connect();
      await once(tmp, 'connect');
      assert.notEqual(serverSocketOf(io, tmp, '/tmp-1').nsp, child);
      assert.deepEqual(created, ['/tmp-1', '/tmp-1']);
    });

    test('emits new_namespace for io.of() and for dynamic children', async (t) => {
      const { io, url } = await startIo(t);
      const created: string[] = [];
      io.on('new_namespace', (nsp: Namespace) => created.push(nsp.name));
      io.of('/static');
      io.of(/^\/dyn-/);
      const main = await connectIo(t, url, transports);
      await connectNamespace(main, '/dyn-a');
      assert.deepEqual(created, ['/static', '/dyn-a']);
    });

    test('refuses an unknown namespace with "Invalid namespace" and the existing names, keeping the rest up', async (t) => {
      const { io, url } = await startIo(t);
      io.of('/admin');
      const main = await connectIo(t, url, transports);
      const admin = await connectNamespace(main, '/admin');
      const refused = once<[ConnectError]>(main.io.socket('/nope'), 'connect_error');
      const [err] = await refused;
      assert.equal(err.message, 'Invalid namespace');
      assert.deepEqual([...(err.data?.namespaces ?? [])].sort(), ['/', '/admin']);
      assert.equal(main.connected, true);
      assert.equal(admin.connected, true);
      serverSocketOf(io, main).on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      assert.equal(await main.timeout(2000).emitWithAck('echo', 'still up'), 'still up');
    });

    test('refuses the main namespace connection of a client whose first namespace is unknown', async (t) => {
      const { url } = await startIo(t);
      const client = openIo(t, `${url}/nope`, transports);
      const [err] = await once<[ConnectError]>(client, 'connect_error');
      assert.equal(err.message, 'Invalid namespace');
      assert.deepEqual(err.data?.namespaces, ['/']);
    });
  });
}

describe('io connectTimeout', () => {
  test('closes a raw Engine.IO session that joins no namespace within connectTimeout', async (t) => {
    const { url, io } = await startIo(t, { connectTimeout: 200 });
    const base = `${url}/socket.io/`;
    const { sid } = await handshake(base);
    assert.equal(io.engine.clientsCount, 1);
    // the pending GET is answered with the close packet when the session ends
    const poll = await request(`${base}?EIO=4&transport=polling&sid=${sid}`);
    assert.equal(poll.status, 200);
    assert.equal(poll.body, '1');
    assert.equal(io.engine.clientsCount, 0);
    const after = await request(`${base}?EIO=4&transport=polling&sid=${sid}`);
    assert.equal(after.status, 400);
    assert.equal(JSON.parse(after.body).code, 1);
  });

  test('keeps a session that joined a namespace past connectTimeout', async (t) => {
    const server = await startIo(t, { connectTimeout: 100, pingInterval: 50 });
    const { client, socket } = await connectPair(t, server, ['websocket']);
    // three heartbeats take longer than connectTimeout: an event to wait for instead of a sleep
    await collect(socket.conn, 'heartbeat', 3);
    assert.equal(socket.connected, true);
    const got = once(client, 'still');
    server.io.emit('still', 'here');
    assert.deepEqual(await got, ['here']);
  });
});
