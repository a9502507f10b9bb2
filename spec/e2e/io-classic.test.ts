// The classic API (connect / message / disconnect callbacks, broadcast, broadcastExcept, getConn,
// conn.send) with the official client, and its mix with the socket.io style.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { describe, test } from 'node:test';
import { connectIo, openIo, recordEvents, startIo, TRANSPORT_SETS, type ClientSocket, type IoApp, type ServerSocket, type Transports } from '../support/io';
import { once } from '../support/wait';

async function clients(t: TestContext, server: IoApp, transports: Transports, count: number): Promise<ClientSocket[]> {
  return Promise.all(Array.from({ length: count }, () => connectIo(t, server.url, transports)));
}

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io classic API over ${name}`, () => {
    test("calls io.on('connect') with the connection of each new client", async (t) => {
      const server = await startIo(t);
      const connected = once<[ServerSocket]>(server.io, 'connect');
      const client = await connectIo(t, server.url, transports);
      const [conn] = await connected;
      assert.equal(conn.id, client.id);
      assert.equal(conn.connected, true);
    });

    test("calls io.on('message') with the connection and the data of a client send()", async (t) => {
      const server = await startIo(t);
      const client = await connectIo(t, server.url, transports);
      const message = once<[ServerSocket, ...unknown[]]>(server.io, 'message');
      client.send('hello', { n: 1 });
      const [conn, ...data] = await message;
      assert.equal(conn.id, client.id);
      assert.deepEqual(data, ['hello', { n: 1 }]);
    });

    test("calls io.on('message') with binary data", async (t) => {
      const server = await startIo(t);
      const client = await connectIo(t, server.url, transports);
      const message = once<[ServerSocket, Buffer]>(server.io, 'message');
      client.send(Buffer.from([1, 2, 3]));
      const [, data] = await message;
      assert.deepEqual(Buffer.from(data), Buffer.from([1, 2, 3]));
    });

    test("calls io.on('disconnect') with the connection and the reason", async (t) => {
      const server = await startIo(t);
      const client = await connectIo(t, server.url, transports);
      const id = client.id;
      const gone = once<[ServerSocket, string]>(server.io, 'disconnect');
      client.disconnect();
      const [conn, reason] = await gone;
      assert.equal(conn.id, id);
      assert.equal(reason, 'client namespace disconnect');
    });

    test("delivers io.broadcast(data) to every client's message listener", async (t) => {
      const server = await startIo(t);
      const all = await clients(t, server, transports, 3);
      const got = all.map((c) => once(c, 'message'));
      server.io.broadcast('to all', 7);
      assert.deepEqual(await Promise.all(got), [['to all', 7], ['to all', 7], ['to all', 7]]);
    });

    test('delivers io.broadcastExcept(conn, data) to every client but conn', async (t) => {
      const server = await startIo(t);
      const all = await clients(t, server, transports, 3);
      const seen = all.map(recordEvents);
      const conn = server.io.getConn(all[1].id as string);
      assert.ok(conn);
      server.io.broadcastExcept(conn, 'not for 1');
      const markers = all.map((c) => once(c, 'marker'));
      server.io.emit('marker');
      await Promise.all(markers);
      assert.deepEqual(seen, [['message', 'marker'], ['marker'], ['message', 'marker']]);
    });

    test('returns the connection from io.getConn(id) and undefined for an unknown id', async (t) => {
      const server = await startIo(t);
      const connection = once<[ServerSocket]>(server.io, 'connection');
      const client = await connectIo(t, server.url, transports);
      const [socket] = await connection;
      assert.equal(server.io.getConn(client.id as string), socket);
      assert.equal(server.io.getConn('no-such-id'), undefined);
      assert.equal(server.io.getConn(socket.conn.id), undefined);
    });

    test("delivers conn.send(data) to the client's message listener", async (t) => {
      const server = await startIo(t);
      server.io.on('connect', (conn: ServerSocket) => conn.send('welcome', Buffer.from([9])));
      // sent right behind the CONNECT reply: armed before the client even connects
      const client = openIo(t, server.url, transports);
      const [text, bin] = await once<[string, Buffer]>(client, 'message');
      assert.equal(text, 'welcome');
      assert.deepEqual(Buffer.from(bin), Buffer.from([9]));
    });

    test("hands both styles the same socket: the classic conn is the socket of io.on('connection')", async (t) => {
      const server = await startIo(t);
      const fromConnect = once<[ServerSocket]>(server.io, 'connect');
      const fromConnection = once<[ServerSocket]>(server.io, 'connection');
      const client = await connectIo(t, server.url, transports);
      const [conn] = await fromConnect;
      const [socket] = await fromConnection;
      assert.equal(conn, socket);
      assert.equal(server.io.getConn(client.id as string), socket);
      // an event handler on the socket and the classic message callback both see a send()
      const viaSocket = once(socket, 'message');
      const viaClassic = once<[ServerSocket, string]>(server.io, 'message');
      client.send('both');
      assert.deepEqual(await viaSocket, ['both']);
      const [classicConn, data] = await viaClassic;
      assert.equal(classicConn, socket);
      assert.equal(data, 'both');
      // and the classic reply reaches a client listening in the socket.io style
      const reply = once(client, 'message');
      socket.send('reply');
      assert.deepEqual(await reply, ['reply']);
    });
  });
}
