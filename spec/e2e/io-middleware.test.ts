// Connection middleware (io.use / nsp.use) and per-packet middleware (socket.use) with the official client.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectIo, connectPair, openIo, startIo, TRANSPORT_SETS, type ServerSocket } from '../support/io';
import { once } from '../support/wait';

type ConnectError = Error & { data?: unknown };

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io connection middleware over ${name}`, () => {
    test('refuses with the error message and data a middleware passes to next(err)', async (t) => {
      const { io, url } = await startIo(t);
      io.use((socket, next) => {
        if (socket.handshake.auth.token === 'good') {
          next();
          return;
        }
        next(Object.assign(new Error('not authorized'), { data: { reason: 'no token' } }));
      });
      const connections: ServerSocket[] = [];
      io.on('connection', (s: ServerSocket) => connections.push(s));
      const refusedClient = openIo(t, url, transports);
      const [err] = await once<[ConnectError]>(refusedClient, 'connect_error');
      assert.equal(err.message, 'not authorized');
      assert.deepEqual(err.data, { reason: 'no token' });
      assert.equal(refusedClient.connected, false);
      // a client with the token connects afterwards: the refused one never produced a connection
      const accepted = await connectIo(t, url, transports, { auth: { token: 'good' } });
      assert.deepEqual(connections.map((s) => s.id), [accepted.id]);
    });

    test('refuses without data when the error carries none', async (t) => {
      const { io, url } = await startIo(t);
      io.use((_socket, next) => next(new Error('plain')));
      const [err] = await once<[ConnectError]>(openIo(t, url, transports), 'connect_error');
      assert.equal(err.message, 'plain');
      assert.equal(err.data, undefined);
    });

    test('waits for an async middleware before accepting', async (t) => {
      const { io, url } = await startIo(t);
      io.use(async (socket, next) => {
        await new Promise((resolve) => setImmediate(resolve));
        socket.data = { user: socket.handshake.auth.user };
        next();
      });
      const connection = once<[ServerSocket]>(io, 'connection');
      await connectIo(t, url, transports, { auth: { user: 'ann' } });
      const [socket] = await connection;
      assert.deepEqual(socket.data, { user: 'ann' });
    });

    test('refuses when a middleware throws or its promise rejects', async (t) => {
      const { io, url } = await startIo(t);
      io.use((socket) => {
        if (socket.handshake.auth.mode === 'throw') throw new Error('sync failure');
        return Promise.reject(new Error('async failure'));
      });
      const [thrown] = await once<[ConnectError]>(openIo(t, url, transports, { auth: { mode: 'throw' } }), 'connect_error');
      assert.equal(thrown.message, 'sync failure');
      const [rejected] = await once<[ConnectError]>(openIo(t, url, transports, { auth: { mode: 'reject' } }), 'connect_error');
      assert.equal(rejected.message, 'async failure');
    });

    test('forgets the rooms a middleware joined before refusing', async (t) => {
      const { io, url } = await startIo(t);
      let id = '';
      io.use((socket, next) => {
        id = socket.id;
        void socket.join('lobby');
        next(new Error('refused'));
      });
      await once(openIo(t, url, transports), 'connect_error');
      assert.equal(io.sockets.adapter.rooms.has('lobby'), false);
      assert.equal(io.sockets.adapter.sids.has(id), false);
    });

    test('never connects a socket whose client left while the middleware ran', async (t) => {
      const { io, url } = await startIo(t);
      let release!: () => void;
      let socketId = '';
      const inMiddleware = new Promise<void>((entered) => {
        io.use((socket, next) => {
          socketId = socket.id;
          void socket.join('lobby');
          release = () => next();
          entered();
        });
      });
      const connections: string[] = [];
      io.on('connection', (s: ServerSocket) => connections.push(s.id));
      const client = openIo(t, url, transports);
      await inMiddleware;
      const [session] = [...io.engine.clients.values()];
      const sessionGone = once(session, 'close');
      client.io.engine.close();
      await sessionGone;
      release();
      assert.deepEqual(connections, []);
      assert.equal(io.sockets.sockets.size, 0);
      assert.equal(io.sockets.adapter.rooms.has('lobby'), false);
      assert.equal(io.sockets.adapter.sids.has(socketId), false);
    });

    test('runs connection middlewares in the order they were added', async (t) => {
      const { io, url } = await startIo(t);
      const order: string[] = [];
      io.use((_s, next) => {
        order.push('a');
        next();
      });
      io.use(async (_s, next) => {
        await Promise.resolve();
        order.push('b');
        next();
      });
      io.use((_s, next) => {
        order.push('c');
        next();
      });
      io.on('connection', () => order.push('connection'));
      await connectIo(t, url, transports);
      assert.deepEqual(order, ['a', 'b', 'c', 'connection']);
    });

    test('stops at the first refusing middleware', async (t) => {
      const { io, url } = await startIo(t);
      const order: string[] = [];
      io.use((_s, next) => {
        order.push('a');
        next(new Error('stop'));
      });
      io.use((_s, next) => {
        order.push('b');
        next();
      });
      await once(openIo(t, url, transports), 'connect_error');
      assert.deepEqual(order, ['a']);
    });
  });

  describe(`io packet middleware over ${name}`, () => {
    test('refuses an event: the socket error listener gets the error and the handler does not run', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      socket.use(([ev], next) => (ev === 'forbidden' ? next(new Error('not allowed')) : next()));
      const handled: string[] = [];
      socket.on('forbidden', () => handled.push('forbidden'));
      const errors: Error[] = [];
      socket.on('error', (err: Error) => errors.push(err));
      const allowed = once(socket, 'allowed');
      client.emit('forbidden', 1);
      client.emit('allowed', 2);
      assert.deepEqual(await allowed, [2]);
      assert.deepEqual(handled, []);
      assert.deepEqual(errors.map((e) => e.message), ['not allowed']);
      assert.equal(socket.connected, true);
    });

    test('passes events through, with the arguments a middleware changed, in order', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      const order: string[] = [];
      socket.use((event, next) => {
        order.push('first');
        event[1] = `${String(event[1])}!`;
        next();
      });
      socket.use(async (_event, next) => {
        await Promise.resolve();
        order.push('second');
        next();
      });
      socket.on('shout', (text: string, ack: (v: string) => void) => {
        order.push('handler');
        ack(text);
      });
      assert.equal(await client.timeout(2000).emitWithAck('shout', 'hey'), 'hey!');
      assert.deepEqual(order, ['first', 'second', 'handler']);
    });
  });
}
