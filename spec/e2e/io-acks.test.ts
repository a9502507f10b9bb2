// Acknowledgements with the official socket.io-client: both ways, with timeouts, and for broadcasts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectIo, connectPair, serverSocketOf, startIo, TRANSPORT_SETS, type ClientSocket } from '../support/io';
import type { BroadcastTimeoutError } from '../../lib/index';
import { once, within } from '../support/wait';

/** Resolves with the arguments of a callback the code under test calls; bounded. */
function callbackArgs(): { cb: (...args: unknown[]) => void; args: Promise<unknown[]> } {
  let cb!: (...args: unknown[]) => void;
  const args = within(new Promise<unknown[]>((resolve) => (cb = (...a) => resolve(a))), 3000, 'callback');
  return { cb, args };
}

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io acks over ${name}`, () => {
    test('answers a client emit through the server handler ack', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      socket.on('sum', (a: number, b: number, ack: (n: number, s: string) => void) => ack(a + b, 'ok'));
      const { cb, args } = callbackArgs();
      client.emit('sum', 2, 3, cb);
      assert.deepEqual(await args, [5, 'ok']);
    });

    test('calls the server emit callback with the client answer', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      client.on('question', (q: string, ack: (a: unknown) => void) => ack({ got: q }));
      const { cb, args } = callbackArgs();
      socket.emit('question', 'q?', cb);
      assert.deepEqual(await args, [{ got: 'q?' }]);
    });

    test('carries binary in acks both ways', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      socket.on('upload', (data: Buffer, ack: (n: number, b: Buffer) => void) => ack(data.length, Buffer.from([...data].reverse())));
      const answer = await client.timeout(2000).emitWithAck('upload', Buffer.from([1, 2, 3, 4]));
      assert.equal(answer, 4);
      client.on('download', (ack: (v: unknown) => void) => ack({ blob: Buffer.from([0xca, 0xfe]), more: [Buffer.from('x')] }));
      const got = (await socket.timeout(2000).emitWithAck('download')) as { blob: Buffer; more: Buffer[] };
      assert.deepEqual(Buffer.from(got.blob), Buffer.from([0xca, 0xfe]));
      assert.deepEqual(Buffer.from(got.more[0]), Buffer.from('x'));
    });

    test('calls a timeout(ms) emit callback with an error when the client does not answer', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      client.on('silent', () => {});
      const { cb, args } = callbackArgs();
      socket.timeout(50).emit('silent', cb);
      const [err, ...rest] = await args;
      assert.ok(err instanceof Error);
      assert.deepEqual(rest, []);
      assert.equal(socket.acks.size, 0);
    });

    test('calls a timeout(ms) emit callback with null and the answer when the client answers', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      client.on('question', (ack: (a: number, b: string) => void) => ack(42, 'second'));
      const { cb, args } = callbackArgs();
      socket.timeout(2000).emit('question', cb);
      assert.deepEqual(await args, [null, 42, 'second']);
    });

    test('resolves emitWithAck with the client answer', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      client.on('question', (n: number, ack: (a: number) => void) => ack(n * 2));
      assert.equal(await within(socket.emitWithAck('question', 21)), 42);
      assert.equal(await socket.timeout(2000).emitWithAck('question', 5), 10);
    });

    test('rejects timeout(ms).emitWithAck when the client does not answer', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      client.on('silent', () => {});
      await assert.rejects(within(socket.timeout(50).emitWithAck('silent')), Error);
    });

    test('sends one ACK packet when the handler calls its ack twice', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      socket.on('twice', (ack: (v: string) => void) => {
        ack('first');
        ack('second');
        socket.emit('marker');
      });
      const ackPackets: string[] = [];
      client.io.engine.on('packet', (packet: { type: string; data?: unknown }) => {
        if (packet.type === 'message' && typeof packet.data === 'string' && packet.data.startsWith('3')) ackPackets.push(packet.data);
      });
      const answers: unknown[] = [];
      const marker = once(client, 'marker');
      client.emit('twice', (v: unknown) => answers.push(v));
      await marker;
      assert.deepEqual(ackPackets, ['30["first"]']);
      assert.deepEqual(answers, ['first']);
    });
  });

  describe(`io broadcast acks over ${name}`, () => {
    async function threeClients(t: Parameters<typeof startIo>[0]) {
      const server = await startIo(t);
      const clients = await Promise.all([0, 1, 2].map(() => connectIo(t, server.url, transports)));
      return { ...server, clients };
    }
    const answerWithId = (client: ClientSocket): void => {
      client.on('q', (ack: (id: string) => void) => ack(client.id as string));
    };

    test('collects one answer per client for io.timeout(ms).emit', async (t) => {
      const { io, clients } = await threeClients(t);
      clients.forEach(answerWithId);
      const { cb, args } = callbackArgs();
      io.timeout(2000).emit('q', cb);
      const [err, responses] = await args;
      assert.equal(err, null);
      assert.deepEqual([...(responses as string[])].sort(), clients.map((c) => c.id).sort());
    });

    test('reports the silent client in err.missing and keeps the other answers', async (t) => {
      const { io, clients } = await threeClients(t);
      const [silent, ...talkers] = clients;
      silent.on('q', () => {});
      talkers.forEach(answerWithId);
      const { cb, args } = callbackArgs();
      io.timeout(100).emit('q', cb);
      const [err, responses] = (await args) as [BroadcastTimeoutError, string[]];
      assert.ok(err instanceof Error);
      assert.deepEqual(err.missing, [silent.id]);
      assert.deepEqual([...responses].sort(), talkers.map((c) => c.id).sort());
    });

    test('resolves io.timeout(ms).emitWithAck with the array of answers', async (t) => {
      const { io, clients } = await threeClients(t);
      clients.forEach(answerWithId);
      const responses = await within(io.timeout(2000).emitWithAck('q'));
      assert.deepEqual([...(responses as string[])].sort(), clients.map((c) => c.id).sort());
    });

    test('collects answers from the room only for io.to(room).timeout(ms).emit', async (t) => {
      const { io, clients } = await threeClients(t);
      clients.forEach(answerWithId);
      serverSocketOf(io, clients[0]).join('r');
      serverSocketOf(io, clients[2]).join('r');
      const { cb, args } = callbackArgs();
      io.to('r').timeout(2000).emit('q', cb);
      const [err, responses] = await args;
      assert.equal(err, null);
      assert.deepEqual([...(responses as string[])].sort(), [clients[0].id, clients[2].id].sort());
    });

    test('calls the callback at once with no answers when the room is empty', async (t) => {
      const { io } = await threeClients(t);
      const { cb, args } = callbackArgs();
      io.to('nobody').timeout(2000).emit('q', cb);
      assert.deepEqual(await args, [null, []]);
    });
  });
}
