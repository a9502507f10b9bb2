// The bounded send queue: direct emits refused over maxQueuedPackets (emit() false, enqueue() throws,
// then 'drain'), sends after the session ended, flushed(), and a client that stops reading while
// broadcasts go on (the session ends as a slow consumer, memory stays bounded, others keep receiving).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SocketIOError } from '../../lib/index';
import { connectIo, serverSocketOf, TRANSPORT_SETS, until, type ClientSocket } from '../support/io';
import { linkUp, marker, recoveringPair, startRecoveryIo, turn } from '../support/recovery';
import { once, within } from '../support/wait';

function isCode(code: string): (err: unknown) => boolean {
  return (err) => err instanceof SocketIOError && err.code === code;
}

/** Records the numbers a client receives for `ev`, in arrival order. */
function numbers(client: ClientSocket, ev = 'n'): number[] {
  const got: number[] = [];
  client.on(ev, (n: number) => got.push(n));
  return got;
}

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io send queue over ${name}`, () => {
    test('refuses direct emits over maxQueuedPackets while the client is away, then emits drain once it is back', async (t) => {
      const server = await startRecoveryIo(t, { maxQueuedPackets: 5 });
      const { client, socket } = await recoveringPair(t, server, transports);
      const got = numbers(client);
      await linkUp(server.proxy, socket);
      const away = once(socket, 'interrupted');
      server.proxy.cut();
      await away;

      assert.deepEqual([1, 2, 3, 4, 5].map((n) => socket.emit('n', n)), [true, true, true, true, true]);
      assert.equal(socket.emit('n', 6), false);
      assert.throws(() => socket.enqueue('n', 7), isCode('ERR_QUEUE_FULL'));
      assert.equal(server.io.metrics.queueRefused, 2);
      // one warning per full queue, not one per refused emit
      assert.equal(server.logs.withCode('ERR_QUEUE_FULL').length, 1);

      const drained = once(socket, 'drain');
      const flushed = within(socket.flushed(), 3000, 'flushed()');
      const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
      server.proxy.heal();
      await back;
      await drained;
      await flushed;
      assert.equal(client.recovered, true);
      assert.equal(socket.emit('n', 8), true);
      socket.enqueue('n', 9);
      await marker(client, socket);
      assert.deepEqual(got, [1, 2, 3, 4, 5, 8, 9]);
    });

    test('refuses direct emits to a connected client that stops reading, then emits drain once it reads again', async (t) => {
      const maxQueuedBytes = 64 * 1024;
      const server = await startRecoveryIo(t, { maxQueuedBytes, pingInterval: 20000, pingTimeout: 20000 });
      const { client, socket } = await recoveringPair(t, server, transports);
      const got = numbers(client);
      await linkUp(server.proxy, socket);
      server.proxy.pause();
      const payload = 'x'.repeat(8 * 1024);
      let accepted = 0;
      // bounded: the kernel's socket buffers (several MB on loopback) fill before the server's queue does
      for (let n = 1; n <= 4000; n++) {
        if (!socket.emit('n', n, payload)) break;
        accepted = n;
        await turn();
      }
      assert.ok(accepted < 4000, 'an emit was refused');
      assert.ok(socket.conn.pendingBytes <= maxQueuedBytes);
      assert.throws(() => socket.enqueue('n', accepted + 1, payload), isCode('ERR_QUEUE_FULL'));
      assert.equal(server.io.metrics.queueRefused, 2);
      assert.equal(server.io.metrics.slowConsumer, 0);
      assert.equal(socket.connected, true);

      const drained = once(socket, 'drain', 10000);
      server.proxy.resume();
      await drained;
      assert.equal(socket.emit('n', accepted + 1, payload), true);
      await marker(client, socket);
      assert.equal(got.length, accepted + 1);
      assert.ok(got.every((n, i) => n === i + 1), 'every accepted emit arrived once, in order');
    });

    test('ends an interrupted session as a slow consumer when a broadcast no longer fits its queue', async (t) => {
      const server = await startRecoveryIo(t, { maxQueuedPackets: 3 });
      server.io.on('connection', (socket) => void socket.join('feed'));
      const { client, socket } = await recoveringPair(t, server, transports);
      await linkUp(server.proxy, socket);
      const away = once(socket, 'interrupted');
      server.proxy.cut();
      await away;
      const gone = once(socket, 'disconnect');
      for (let n = 1; n <= 4; n++) server.io.to('feed').emit('tick', n);
      assert.equal((await gone)[0], 'slow consumer');
      assert.equal(server.io.metrics.slowConsumer, 1);
      assert.equal(server.logs.withCode('ERR_SLOW_CONSUMER').length, 1);
      const connected = once(client, 'connect');
      server.proxy.heal();
      await connected;
      assert.equal(client.recovered, false);
    });

    test('refuses every send once the session has ended: emit() false, enqueue() and flushed() ERR_DESTROYED', async (t) => {
      const server = await startRecoveryIo(t);
      const { client, socket } = await recoveringPair(t, server, transports);
      const gone = once(socket, 'disconnect');
      client.disconnect();
      await gone;
      assert.equal(socket.emit('n', 1), false);
      assert.throws(() => socket.enqueue('n', 2), isCode('ERR_DESTROYED'));
      await assert.rejects(socket.flushed(), isCode('ERR_DESTROYED'));
      assert.equal(server.io.metrics.queueRefused, 0);
    });

    test('rejects a pending flushed() with ERR_DESTROYED when the session expires while away', async (t) => {
      const server = await startRecoveryIo(t, { reconnectTimeout: 200 });
      const { socket } = await recoveringPair(t, server, transports);
      await linkUp(server.proxy, socket);
      const away = once(socket, 'interrupted');
      server.proxy.cut();
      await away;
      assert.equal(socket.emit('n', 1), true);
      await assert.rejects(within(socket.flushed(), 3000, 'flushed()'), isCode('ERR_DESTROYED'));
      assert.equal(socket.connected, false);
      assert.throws(() => socket.enqueue('n', 2), isCode('ERR_DESTROYED'));
    });

    test('resolves flushed() once everything queued was handed to the transport', async (t) => {
      // no heartbeat: only the emit's own write may settle flushed()
      const server = await startRecoveryIo(t, { pingInterval: 20000, pingTimeout: 20000 });
      const { client, socket } = await recoveringPair(t, server, transports);
      const got = once<[Buffer, string]>(client, 'bin');
      // a packet with a binary attachment leaves as several engine messages in one write
      assert.equal(socket.emit('bin', Buffer.from([1, 2, 3]), 'text'), true);
      await within(socket.flushed(), 2000, 'flushed()');
      assert.equal(socket.conn.pendingPackets, 0);
      const [bin, text] = await got;
      assert.deepEqual([...bin], [1, 2, 3]);
      assert.equal(text, 'text');
      // and at once when nothing is queued
      await within(socket.flushed(), 2000, 'flushed() with nothing queued');
    });

    test('ends the session of a client that stops reading as a slow consumer, with bounded queues, while others keep receiving', async (t) => {
      const maxQueuedBytes = 64 * 1024;
      // no heartbeat during the test: the client's silence must be found by the queue bound, not a ping timeout
      const server = await startRecoveryIo(t, { maxQueuedBytes, pingInterval: 20000, pingTimeout: 20000 });
      server.io.on('connection', (socket) => void socket.join('feed'));
      const { client: slow, socket } = await recoveringPair(t, server, transports);
      // a healthy member of the room, straight to the server (the proxy's pause does not touch it)
      const healthy = await connectIo(t, server.url, transports);
      const healthyGot = numbers(healthy, 'tick');
      const reasons: string[] = [];
      socket.on('disconnect', (reason: string) => reasons.push(reason));
      await linkUp(server.proxy, socket);
      server.proxy.pause();

      const payload = 'x'.repeat(8 * 1024);
      const packetBytes = Buffer.byteLength(JSON.stringify(['tick', 0, payload, 'epoch.offset'])) + 16;
      let maxOutbox = 0;
      let maxPending = 0;
      let sent = 0;
      // bounded: the kernel's socket buffers (several MB on loopback) fill before the server's queue does
      for (let n = 1; n <= 4000 && socket.connected; n++) {
        server.io.to('feed').emit('tick', n, payload);
        sent = n;
        maxOutbox = Math.max(maxOutbox, socket.client.outbox?.bytes ?? 0);
        if (socket.client.current) maxPending = Math.max(maxPending, socket.conn.pendingBytes);
        // the healthy client keeps up: at most one tick behind (a polling round trip), far under the bound
        await until(() => healthyGot.length >= n - 1, 3000, `the healthy client at tick ${n - 1}`);
      }
      assert.deepEqual(reasons, ['slow consumer']);
      assert.ok(maxOutbox <= maxQueuedBytes + packetBytes, `replay log held ${maxOutbox} bytes`);
      assert.ok(maxPending <= maxQueuedBytes + packetBytes, `connection held ${maxPending} bytes`);
      assert.equal(server.io.metrics.slowConsumer, 1);
      const warnings = server.logs.withCode('ERR_SLOW_CONSUMER');
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0].socketId, socket.id);

      // the broadcast goes on for everyone else
      const healthySocket = serverSocketOf(server.io, healthy);
      for (let n = sent + 1; n <= sent + 5; n++) server.io.to('feed').emit('tick', n, payload);
      await marker(healthy, healthySocket);
      assert.equal(healthyGot.length, sent + 5);
      assert.ok(healthyGot.every((n, i) => n === i + 1), 'the healthy client got every tick in order');
      assert.equal(server.io.metrics.slowConsumer, 1);

      // the slow client reads again: its session is gone, it gets a fresh one
      const fresh = once(slow, 'connect', 10000);
      server.proxy.resume();
      await fresh;
      assert.equal(slow.recovered, false);
      assert.notEqual(slow.id, socket.id);
    });
  });
}
