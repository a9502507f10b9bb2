// Disconnects with the official client: from either side, per namespace or the whole connection,
// transport close, server shutdown, and acks left pending.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectNamespace, connectPair, serverSocketOf, startIo, TRANSPORT_SETS } from '../support/io';
import { once, within } from '../support/wait';

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io disconnect over ${name}`, () => {
    test('emits disconnecting with the rooms still readable, then disconnect, when the client leaves', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      await socket.join('r');
      const order: unknown[][] = [];
      socket.on('disconnecting', (reason: string) => order.push(['disconnecting', reason, [...socket.rooms].sort()]));
      socket.on('disconnect', (reason: string) => order.push(['disconnect', reason, [...socket.rooms]]));
      const gone = once(socket, 'disconnect');
      client.disconnect();
      await gone;
      assert.deepEqual(order, [
        ['disconnecting', 'client namespace disconnect', [socket.id, 'r'].sort()],
        ['disconnect', 'client namespace disconnect', []],
      ]);
      assert.equal(socket.connected, false);
      assert.equal(server.io.sockets.sockets.has(socket.id), false);
      assert.equal(server.io.sockets.adapter.rooms.has('r'), false);
    });

    test('emits disconnecting and disconnect once when a disconnecting listener disconnects again', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      const events: string[] = [];
      socket.on('disconnecting', (reason: string) => {
        events.push(`disconnecting:${reason}`);
        socket.disconnect();
        server.io.disconnectSockets();
      });
      socket.on('disconnect', (reason: string) => events.push(`disconnect:${reason}`));
      const gone = once(socket, 'disconnect');
      client.disconnect();
      await gone;
      assert.deepEqual(events, ['disconnecting:client namespace disconnect', 'disconnect:client namespace disconnect']);
    });

    test('tells the client "io server disconnect" when the server disconnects its socket', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      const clientSide = once(client, 'disconnect');
      const serverSide = once(socket, 'disconnect');
      socket.disconnect();
      assert.deepEqual(await clientSide, ['io server disconnect', undefined]);
      assert.equal((await serverSide)[0], 'server namespace disconnect');
      assert.equal(client.connected, false);
    });

    test('keeps the other namespaces of the connection when the server disconnects one', async (t) => {
      const server = await startIo(t);
      server.io.of('/admin');
      const { client, socket } = await connectPair(t, server, transports);
      const admin = await connectNamespace(client, '/admin');
      const adminSocket = serverSocketOf(server.io, admin, '/admin');
      const adminGone = once(admin, 'disconnect');
      adminSocket.disconnect();
      assert.equal((await adminGone)[0], 'io server disconnect');
      socket.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      assert.equal(await client.timeout(2000).emitWithAck('echo', 'main lives'), 'main lives');
      assert.equal(socket.conn.readyState, 'open');
    });

    test('closes the whole connection, every namespace included, on socket.disconnect(true)', async (t) => {
      const server = await startIo(t);
      server.io.of('/admin');
      const { client, socket } = await connectPair(t, server, transports);
      const admin = await connectNamespace(client, '/admin');
      const adminSocket = serverSocketOf(server.io, admin, '/admin');
      const reasons = [once(socket, 'disconnect'), once(adminSocket, 'disconnect')];
      const clientReasons = [once(client, 'disconnect'), once(admin, 'disconnect')];
      const engineClosed = once(socket.conn, 'close');
      const clientEngineClosed = once(client.io.engine, 'close');
      adminSocket.disconnect(true);
      assert.deepEqual((await Promise.all(reasons)).map((r) => r[0]), ['server namespace disconnect', 'server namespace disconnect']);
      assert.deepEqual((await Promise.all(clientReasons)).map((r) => r[0]), ['io server disconnect', 'io server disconnect']);
      await engineClosed;
      await clientEngineClosed;
      assert.equal(server.io.engine.clientsCount, 0);
    });

    test('reports "transport close" when the client closes its engine', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      const serverSide = once(socket, 'disconnect');
      client.io.engine.close();
      assert.equal((await serverSide)[0], 'transport close');
    });

    test('disconnects every socket with "server shutting down" on io.close()', async (t) => {
      const server = await startIo(t);
      server.io.of('/admin');
      const { client, socket } = await connectPair(t, server, transports);
      const admin = await connectNamespace(client, '/admin');
      const adminSocket = serverSocketOf(server.io, admin, '/admin');
      const reasons = [once(socket, 'disconnect'), once(adminSocket, 'disconnect')];
      const clientSide = once(client, 'disconnect');
      await server.io.close();
      assert.deepEqual((await Promise.all(reasons)).map((r) => r[0]), ['server shutting down', 'server shutting down']);
      await clientSide;
      assert.equal(server.io.engine.clientsCount, 0);
    });

    test('settles pending acks that have a timeout with an error when the socket disconnects', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      client.on('silent', () => {});
      const withCallback = within(
        new Promise<unknown[]>((resolve) => {
          socket.timeout(60_000).emit('silent', (...args: unknown[]) => resolve(args));
        }),
        3000,
        'ack callback',
      );
      // handler attached now: the rejection comes with the disconnect, before the test awaits it
      const withPromise = assert.rejects(within(socket.timeout(60_000).emitWithAck('silent')), Error);
      const received = once(client, 'silent');
      await received;
      client.disconnect();
      const [err] = await withCallback;
      assert.ok(err instanceof Error);
      await withPromise;
      assert.equal(socket.acks.size, 0);
    });
  });
}
