// Rooms and broadcasts with the official socket.io-client: to / in / except / broadcast, and the
// server-wide utilities (fetchSockets, socketsJoin / socketsLeave, disconnectSockets, serverSideEmit).
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { describe, test } from 'node:test';
import {
  connectIo,
  connectNamespace,
  recordEvents,
  serverSocketOf,
  startIo,
  TRANSPORT_SETS,
  until,
  type ClientSocket,
  type IoApp,
  type ServerSocket,
  type Transports,
} from '../support/io';
import { once, within } from '../support/wait';

interface Peer {
  client: ClientSocket;
  socket: ServerSocket;
  /** Event names the client received, in order. */
  seen: string[];
}

async function peers(t: TestContext, server: IoApp, transports: Transports, count: number): Promise<Peer[]> {
  const clients = await Promise.all(Array.from({ length: count }, () => connectIo(t, server.url, transports)));
  return clients.map((client) => ({ client, socket: serverSocketOf(server.io, client), seen: recordEvents(client) }));
}

/** io.emit('marker') and waits until every peer has it: what was sent before it has arrived. */
async function flushWithMarker(server: IoApp, all: Peer[]): Promise<void> {
  const markers = all.map((p) => once(p.client, 'marker'));
  server.io.emit('marker');
  await Promise.all(markers);
}

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io rooms over ${name}`, () => {
    test('adds rooms on join and removes them on leave', async (t) => {
      const server = await startIo(t);
      const [{ socket }] = await peers(t, server, transports, 1);
      assert.deepEqual([...socket.rooms], [socket.id]);
      await socket.join('a');
      await socket.join(['b', 'c']);
      assert.deepEqual([...socket.rooms].sort(), [socket.id, 'a', 'b', 'c'].sort());
      await socket.leave('b');
      assert.deepEqual([...socket.rooms].sort(), [socket.id, 'a', 'c'].sort());
      assert.ok(server.io.sockets.adapter.rooms.get('a')?.has(socket.id));
      assert.equal(server.io.sockets.adapter.rooms.has('b'), false);
    });

    test('drops a join made after the socket disconnected', async (t) => {
      const server = await startIo(t);
      const [{ client, socket }] = await peers(t, server, transports, 1);
      const gone = once(socket, 'disconnect');
      socket.on('disconnect', () => void socket.join('too-late'));
      client.disconnect();
      await gone;
      const { adapter } = server.io.sockets;
      assert.equal(adapter.rooms.has('too-late'), false);
      assert.equal(adapter.sids.has(socket.id), false);
    });

    test('delivers io.to(room).emit to the room members only', async (t) => {
      const server = await startIo(t);
      const all = await peers(t, server, transports, 3);
      await all[0].socket.join('r');
      await all[1].socket.join('r');
      const got = [once(all[0].client, 'news'), once(all[1].client, 'news')];
      server.io.to('r').emit('news', 42);
      assert.deepEqual(await Promise.all(got), [[42], [42]]);
      await flushWithMarker(server, all);
      assert.deepEqual(all.map((p) => p.seen), [['news', 'marker'], ['news', 'marker'], ['marker']]);
    });

    test('delivers io.in(room).emit like io.to(room).emit', async (t) => {
      const server = await startIo(t);
      const all = await peers(t, server, transports, 2);
      await all[1].socket.join('r');
      server.io.in('r').emit('news');
      await flushWithMarker(server, all);
      assert.deepEqual(all.map((p) => p.seen), [['marker'], ['news', 'marker']]);
    });

    test('leaves the room out for io.except(room).emit', async (t) => {
      const server = await startIo(t);
      const all = await peers(t, server, transports, 3);
      await all[1].socket.join('quiet');
      server.io.except('quiet').emit('news');
      await flushWithMarker(server, all);
      assert.deepEqual(all.map((p) => p.seen), [['news', 'marker'], ['marker'], ['news', 'marker']]);
    });

    test('leaves the sender out for socket.to(room).emit', async (t) => {
      const server = await startIo(t);
      const all = await peers(t, server, transports, 3);
      for (const p of all) await p.socket.join('r');
      all[0].socket.to('r').emit('news', 'from 0');
      await flushWithMarker(server, all);
      assert.deepEqual(all.map((p) => p.seen), [['marker'], ['news', 'marker'], ['news', 'marker']]);
    });

    test('reaches every socket but the sender for socket.broadcast.emit', async (t) => {
      const server = await startIo(t);
      const all = await peers(t, server, transports, 3);
      all[1].socket.broadcast.emit('news');
      await flushWithMarker(server, all);
      assert.deepEqual(all.map((p) => p.seen), [['news', 'marker'], ['marker'], ['news', 'marker']]);
    });

    test('sends once to a socket in several of the target rooms', async (t) => {
      const server = await startIo(t);
      const all = await peers(t, server, transports, 3);
      await all[0].socket.join(['a', 'b']);
      await all[1].socket.join('b');
      server.io.to('a').to('b').emit('news');
      server.io.to(['a', 'b']).emit('news');
      await flushWithMarker(server, all);
      assert.deepEqual(all.map((p) => p.seen), [['news', 'news', 'marker'], ['news', 'news', 'marker'], ['marker']]);
    });

    test('keeps rooms of io.of(nsp).to(room) inside that namespace', async (t) => {
      const server = await startIo(t);
      server.io.of('/x');
      const [main] = await peers(t, server, transports, 1);
      const x = await connectNamespace(main.client, '/x');
      const xSeen = recordEvents(x);
      await main.socket.join('r');
      await serverSocketOf(server.io, x, '/x').join('r');
      const got = once(x, 'news');
      server.io.of('/x').to('r').emit('news', 'x only');
      assert.deepEqual(await got, ['x only']);
      await flushWithMarker(server, [main]);
      assert.deepEqual(main.seen, ['marker']);
      assert.deepEqual(xSeen, ['news']);
    });

    test('delivers a volatile emit while the transport is writable', async (t) => {
      const server = await startIo(t);
      const all = await peers(t, server, transports, 1);
      const [{ client, socket }] = all;
      await until(() => socket.conn.transport.writable, 2000, 'a writable transport');
      const got = once(client, 'tick');
      socket.volatile.emit('tick', 1);
      assert.deepEqual(await got, [1]);
      await until(() => socket.conn.transport.writable, 2000, 'a writable transport');
      const broadcast = once(client, 'tick');
      server.io.volatile.emit('tick', 2);
      assert.deepEqual(await broadcast, [2]);
    });

    test('accepts compress(false) on socket and broadcast emits', async (t) => {
      const server = await startIo(t);
      const [{ client, socket }] = await peers(t, server, transports, 1);
      const got = once(client, 'big');
      socket.compress(false).emit('big', 'x'.repeat(4000));
      assert.deepEqual(await got, ['x'.repeat(4000)]);
      const broadcast = once(client, 'big');
      server.io.compress(false).emit('big', 'y');
      assert.deepEqual(await broadcast, ['y']);
    });

    test('delivers io.local.emit to the sockets of this node', async (t) => {
      const server = await startIo(t);
      const all = await peers(t, server, transports, 2);
      const got = all.map((p) => once(p.client, 'news'));
      server.io.local.emit('news', 'here');
      assert.deepEqual(await Promise.all(got), [['here'], ['here']]);
    });
  });

  describe(`io server-side utilities over ${name}`, () => {
    test('returns the local sockets with their data and rooms from fetchSockets', async (t) => {
      const server = await startIo(t);
      const all = await peers(t, server, transports, 3);
      all.forEach((p, i) => {
        p.socket.data = { n: i };
      });
      await all[2].socket.join('r');
      const sockets = await server.io.fetchSockets();
      assert.deepEqual(sockets.map((s) => s.id).sort(), all.map((p) => p.socket.id).sort());
      const inRoom = await server.io.in('r').fetchSockets();
      assert.equal(inRoom.length, 1);
      assert.equal(inRoom[0].id, all[2].socket.id);
      assert.deepEqual(inRoom[0].data, { n: 2 });
      assert.deepEqual([...inRoom[0].rooms].sort(), [all[2].socket.id, 'r'].sort());
      const got = once(all[2].client, 'direct');
      inRoom[0].emit('direct', 'hi');
      assert.deepEqual(await got, ['hi']);
    });

    test('makes the selected sockets join and leave rooms with socketsJoin and socketsLeave', async (t) => {
      const server = await startIo(t);
      const all = await peers(t, server, transports, 3);
      await all[0].socket.join('vip');
      server.io.socketsJoin('everyone');
      server.io.in('vip').socketsJoin(['a', 'b']);
      assert.ok(all.every((p) => p.socket.rooms.has('everyone')));
      assert.deepEqual([...all[0].socket.rooms].sort(), [all[0].socket.id, 'a', 'b', 'everyone', 'vip'].sort());
      assert.equal(all[1].socket.rooms.has('a'), false);
      server.io.except('vip').socketsLeave('everyone');
      assert.deepEqual(all.map((p) => p.socket.rooms.has('everyone')), [true, false, false]);
      server.io.to('everyone').emit('news');
      await flushWithMarker(server, all);
      assert.deepEqual(all.map((p) => p.seen), [['news', 'marker'], ['marker'], ['marker']]);
    });

    test('disconnects the selected sockets with "io server disconnect" on disconnectSockets', async (t) => {
      const server = await startIo(t);
      const all = await peers(t, server, transports, 2);
      await all[0].socket.join('gone');
      const reason = once(all[0].client, 'disconnect');
      const serverReason = once(all[0].socket, 'disconnect');
      server.io.in('gone').disconnectSockets();
      assert.deepEqual(await reason, ['io server disconnect', undefined]);
      assert.equal((await serverReason)[0], 'server namespace disconnect');
      assert.equal(all[1].socket.connected, true);
      await flushWithMarker(server, [all[1]]);
    });

    test('closes the whole connection on disconnectSockets(true)', async (t) => {
      const server = await startIo(t);
      const [{ client, socket }] = await peers(t, server, transports, 1);
      const engineClosed = once(socket.conn, 'close');
      const clientEngineClosed = once(client.io.engine, 'close');
      const reason = once(client, 'disconnect');
      server.io.disconnectSockets(true);
      await engineClosed;
      await clientEngineClosed;
      assert.equal((await reason)[0], 'io server disconnect');
      assert.equal(server.io.engine.clientsCount, 0);
    });
  });
}

describe('io serverSideEmit', () => {
  test('accepts serverSideEmit on a single node and refuses reserved names', async (t) => {
    const { io } = await startIo(t);
    assert.equal(io.serverSideEmit('hello', 1), true);
    assert.equal(io.of('/other').serverSideEmit('hello'), true);
    assert.throws(() => io.serverSideEmit('connection' as never));
    assert.throws(() => io.serverSideEmit('new_namespace' as never));
  });

  test('resolves serverSideEmitWithAck with no answers on a single node', async (t) => {
    const { io } = await startIo(t);
    assert.deepEqual(await within(io.serverSideEmitWithAck('hello')), []);
  });
});
