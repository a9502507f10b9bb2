// Socket.IO CONNECT with the official socket.io-client: auth, handshake, the Express request, ids.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { connectIo, connectPair, startIo, TRANSPORT_SETS, type ServerSocket } from '../support/io';
import { once } from '../support/wait';

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io connect over ${name}`, () => {
    test('exposes the CONNECT auth payload as socket.handshake.auth', async (t) => {
      const server = await startIo(t);
      const connection = once<[ServerSocket]>(server.io, 'connection');
      await connectIo(t, server.url, transports, { auth: { token: 'abc', n: 1 } });
      const [socket] = await connection;
      assert.deepEqual({ ...socket.handshake.auth }, { token: 'abc', n: 1 });
    });

    test('fills socket.handshake with the shape of socket.io', async (t) => {
      const server = await startIo(t);
      const before = Date.now();
      const { socket } = await connectPair(t, server, transports, { query: { room: 'blue' } });
      const hs = socket.handshake;
      assert.deepEqual(Object.keys(hs).sort(), ['address', 'auth', 'headers', 'issued', 'query', 'secure', 'time', 'url', 'xdomain']);
      assert.equal(hs.headers.host, `127.0.0.1:${server.port}`);
      assert.equal(typeof hs.time, 'string');
      assert.ok(!Number.isNaN(Date.parse(hs.time)));
      assert.ok(hs.issued >= before - 1000 && hs.issued <= Date.now());
      assert.match(hs.address, /127\.0\.0\.1$/);
      assert.equal(hs.xdomain, false);
      assert.equal(hs.secure, false);
      assert.ok(hs.url.startsWith('/socket.io/?'), hs.url);
      assert.equal(hs.query.EIO, '4');
      assert.equal(hs.query.transport, transports[0]);
      assert.equal(hs.query.room, 'blue');
      assert.deepEqual({ ...hs.auth }, {});
    });

    test('hands the socket the request decorated by Express middleware mounted before io', async (t) => {
      const server = await startIo(t, {}, {
        before: [
          (req, _res, next) => {
            (req as IncomingMessage & { user?: unknown }).user = { name: 'ann' };
            next();
          },
        ],
      });
      const { socket } = await connectPair(t, server, transports);
      assert.deepEqual((socket.request as IncomingMessage & { user?: unknown }).user, { name: 'ann' });
    });

    test('gives the socket an id of its own, shared with the client and distinct from the engine id', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      assert.equal(socket.connected, true);
      assert.equal(socket.disconnected, false);
      assert.equal(client.connected, true);
      assert.equal(client.id, socket.id);
      assert.notEqual(socket.id, socket.conn.id);
      assert.equal(client.io.engine.id, socket.conn.id);
      assert.equal(socket.nsp, server.io.sockets);
      assert.ok(socket.rooms.has(socket.id));
    });
  });
}
