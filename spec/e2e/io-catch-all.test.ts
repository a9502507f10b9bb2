// Catch-all listeners with the official client: onAny / prependAny / offAny / listenersAny and their
// outgoing counterparts, which see broadcasts too.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectPair, startIo, TRANSPORT_SETS } from '../support/io';
import { once } from '../support/wait';

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io catch-all listeners over ${name}`, () => {
    test('calls prependAny then onAny listeners with every incoming event, before the handler', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      const calls: unknown[][] = [];
      const any = (ev: string, ...args: unknown[]): void => void calls.push(['any', ev, ...args]);
      const first = (ev: string): void => void calls.push(['prepended', ev]);
      socket.onAny(any);
      socket.prependAny(first);
      socket.on('b', () => calls.push(['handler', 'b']));
      const done = once(socket, 'b');
      client.emit('a', 1, { x: 2 });
      client.emit('b');
      await done;
      assert.deepEqual(calls, [
        ['prepended', 'a'],
        ['any', 'a', 1, { x: 2 }],
        ['prepended', 'b'],
        ['any', 'b'],
        ['handler', 'b'],
      ]);
      assert.deepEqual(socket.listenersAny(), [first, any]);
    });

    test('hands onAny the ack callback of an event as its last argument', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      socket.onAny((ev: string, ...args: unknown[]) => {
        const ack = args[args.length - 1];
        if (ev === 'ask' && typeof ack === 'function') ack('from onAny');
      });
      assert.equal(await client.timeout(2000).emitWithAck('ask'), 'from onAny');
    });

    test('stops calling listeners removed with offAny(listener) and offAny()', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      const calls: string[] = [];
      const a = (ev: string): void => void calls.push(`a:${ev}`);
      const b = (ev: string): void => void calls.push(`b:${ev}`);
      socket.onAny(a);
      socket.onAny(b);
      socket.offAny(a);
      assert.deepEqual(socket.listenersAny(), [b]);
      let done = once(socket, 'one');
      client.emit('one');
      await done;
      socket.offAny();
      assert.deepEqual(socket.listenersAny(), []);
      done = once(socket, 'two');
      client.emit('two');
      await done;
      assert.deepEqual(calls, ['b:one']);
    });

    test('calls outgoing listeners for socket emits and broadcasts, prepended first, until removed', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      await socket.join('r');
      const calls: unknown[][] = [];
      const out = (ev: string, ...args: unknown[]): void => void calls.push(['out', ev, ...args]);
      const first = (ev: string): void => void calls.push(['prepended', ev]);
      socket.onAnyOutgoing(out);
      socket.prependAnyOutgoing(first);
      assert.deepEqual(socket.listenersAnyOutgoing(), [first, out]);
      const arrived = once(client, 'room');
      socket.emit('direct', 1);
      server.io.emit('everyone', 2);
      server.io.to('r').emit('room', 3);
      await arrived;
      assert.deepEqual(calls, [
        ['prepended', 'direct'],
        ['out', 'direct', 1],
        ['prepended', 'everyone'],
        ['out', 'everyone', 2],
        ['prepended', 'room'],
        ['out', 'room', 3],
      ]);
      socket.offAnyOutgoing(first);
      assert.deepEqual(socket.listenersAnyOutgoing(), [out]);
      socket.offAnyOutgoing();
      const after = once(client, 'after');
      socket.emit('after');
      await after;
      assert.equal(calls.length, 6);
    });

    test('does not call outgoing listeners of the sockets a broadcast leaves out', async (t) => {
      const server = await startIo(t);
      const one = await connectPair(t, server, transports);
      const two = await connectPair(t, server, transports);
      const seen: string[] = [];
      one.socket.onAnyOutgoing((ev: string) => seen.push(ev));
      const arrived = once(two.client, 'news');
      one.socket.broadcast.emit('news');
      await arrived;
      const marker = once(one.client, 'marker');
      one.socket.emit('marker');
      await marker;
      assert.deepEqual(seen, ['marker']);
    });
  });
}
