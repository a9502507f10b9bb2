// Events both ways with the official socket.io-client: plain and binary payloads, and handlers that fail.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectPair, openIo, startIo, TRANSPORT_SETS, type ServerSocket } from '../support/io';
import { logSink } from '../support/logs';
import { collect, once, within } from '../support/wait';

/** What a client receives as binary (Buffer in Node, ArrayBuffer after some transports) as a Buffer. */
function buf(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new Error(`not binary: ${typeof value}`);
}

/** The error-level line logged for an Error with this message. */
function errorLine(lines: Array<Record<string, unknown>>, message: string): Record<string, unknown> {
  const line = lines.find((l) => (l.err as { message?: string } | undefined)?.message === message);
  assert.ok(line, `no log line for "${message}": ${JSON.stringify(lines)}`);
  assert.equal(line.level, 50);
  return line;
}

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io events over ${name}`, () => {
    test('delivers events with their arguments from client to server and back', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      const atServer = once(socket, 'hello');
      client.emit('hello', 'world', { n: 1, list: [true, null] }, 3.5);
      assert.deepEqual(await atServer, ['world', { n: 1, list: [true, null] }, 3.5]);
      const atClient = once(client, 'welcome');
      socket.emit('welcome', 'hi', ['a', { b: 'é \u2028' }]);
      assert.deepEqual(await atClient, ['hi', ['a', { b: 'é \u2028' }]]);
    });

    test('delivers events without arguments both ways', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      const empty = once(client, 'ping-me');
      socket.emit('ping-me');
      assert.deepEqual(await empty, []);
      const atServer = once(socket, 'plain');
      client.emit('plain');
      assert.deepEqual(await atServer, []);
    });

    test('carries buffers nested in objects and arrays from client to server', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      const atServer = once<[{ a: Buffer; list: unknown[] }, Buffer]>(socket, 'upload');
      client.emit('upload', { a: Buffer.from([1, 2, 3]), list: ['x', Buffer.from([0xff]), { deep: Buffer.alloc(0) }] }, Buffer.from('tail'));
      const [obj, tail] = await atServer;
      assert.deepEqual(buf(obj.a), Buffer.from([1, 2, 3]));
      assert.equal(obj.list[0], 'x');
      assert.deepEqual(buf(obj.list[1]), Buffer.from([0xff]));
      assert.deepEqual(buf((obj.list[2] as { deep: unknown }).deep), Buffer.alloc(0));
      assert.deepEqual(buf(tail), Buffer.from('tail'));
    });

    test('carries buffers nested in objects and arrays from server to client', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      const atClient = once<[Buffer, { nested: unknown[] }, string]>(client, 'srvbin');
      socket.emit('srvbin', Buffer.from([0xde, 0xad]), { nested: [Buffer.from('hi'), 7, new Uint8Array([9, 8])] }, 'end');
      const [first, second, end] = await atClient;
      assert.deepEqual(buf(first), Buffer.from([0xde, 0xad]));
      assert.deepEqual(buf(second.nested[0]), Buffer.from('hi'));
      assert.equal(second.nested[1], 7);
      assert.deepEqual(buf(second.nested[2]), Buffer.from([9, 8]));
      assert.equal(end, 'end');
    });

    test('keeps the order of text and binary events sent back to back', async (t) => {
      const server = await startIo(t);
      const { client, socket } = await connectPair(t, server, transports);
      const got: unknown[] = [];
      const done = once(client, 'last');
      client.on('n', (v: unknown) => got.push(v));
      for (let i = 0; i < 10; i++) socket.emit('n', i % 2 === 0 ? i : Buffer.from([i]));
      socket.emit('last');
      await done;
      assert.deepEqual(
        got.map((v) => (typeof v === 'number' ? v : buf(v)[0])),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      );
    });
  });

  describe(`io handler errors over ${name}`, () => {
    test('logs a throwing event handler at error and keeps the socket working', async (t) => {
      const sink = logSink('error');
      const server = await startIo(t, { logger: sink.logger });
      const { client, socket } = await connectPair(t, server, transports);
      socket.on('boom', () => {
        throw new Error('handler bug');
      });
      socket.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      client.emit('boom');
      assert.equal(await client.timeout(2000).emitWithAck('echo', 'after'), 'after');
      assert.equal(socket.connected, true);
      const line = sink.lines.find((l) => (l.err as { message?: string } | undefined)?.message === 'handler bug');
      assert.ok(line, JSON.stringify(sink.lines));
      assert.equal(line.level, 50);
    });

    test('logs a throwing ack callback at error and keeps the socket working', async (t) => {
      const sink = logSink('error');
      const server = await startIo(t, { logger: sink.logger });
      const { client, socket } = await connectPair(t, server, transports);
      client.on('question', (ack: (v: string) => void) => ack('answer'));
      client.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      const called = new Promise<void>((resolve) => {
        socket.emit('question', () => {
          resolve();
          throw new Error('ack bug');
        });
      });
      await called;
      assert.equal(await socket.timeout(2000).emitWithAck('echo', 'after'), 'after');
      const line = sink.lines.find((l) => (l.err as { message?: string } | undefined)?.message === 'ack bug');
      assert.ok(line, JSON.stringify(sink.lines));
      assert.equal(line.level, 50);
    });

    test('logs an async handler that rejects at error and keeps the socket working', async (t) => {
      const sink = logSink('error');
      const server = await startIo(t, { logger: sink.logger });
      const { client, socket } = await connectPair(t, server, transports);
      socket.on('later', async () => {
        await Promise.resolve();
        throw new Error('async bug');
      });
      socket.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      client.emit('later');
      assert.equal(await client.timeout(2000).emitWithAck('echo', 'after'), 'after');
      // the rejection settles a microtask after the handler ran; the echo round trip is far later
      const line = sink.lines.find((l) => (l.err as { message?: string } | undefined)?.message === 'async bug');
      assert.ok(line, JSON.stringify(sink.lines));
      assert.equal(line.level, 50);
    });
    test('logs an async connection listener that rejects and keeps the socket working', async (t) => {
      const sink = logSink('error');
      const server = await startIo(t, { logger: sink.logger });
      server.io.on('connection', async () => {
        await Promise.resolve();
        throw new Error('connection bug');
      });
      const { client, socket } = await connectPair(t, server, transports);
      socket.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      assert.equal(await client.timeout(2000).emitWithAck('echo', 'after'), 'after');
      errorLine(sink.lines, 'connection bug');
    });

    test('logs a throwing connection listener and keeps the socket working', async (t) => {
      const sink = logSink('error');
      const server = await startIo(t, { logger: sink.logger });
      server.io.on('connection', () => {
        throw new Error('sync connection bug');
      });
      const { client, socket } = await connectPair(t, server, transports);
      socket.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      assert.equal(await client.timeout(2000).emitWithAck('echo', 'after'), 'after');
      errorLine(sink.lines, 'sync connection bug');
    });

    test('logs an async ack callback that rejects and keeps the socket working', async (t) => {
      const sink = logSink('error');
      const server = await startIo(t, { logger: sink.logger });
      const { client, socket } = await connectPair(t, server, transports);
      client.on('question', (ack: (v: string) => void) => ack('answer'));
      client.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      await new Promise<void>((resolve) => {
        socket.emit('question', async () => {
          resolve();
          throw new Error('async ack bug');
        });
      });
      assert.equal(await socket.timeout(2000).emitWithAck('echo', 'after'), 'after');
      errorLine(sink.lines, 'async ack bug');
    });

    test('logs throwing and rejecting catch-all listeners and keeps the socket working', async (t) => {
      const sink = logSink('error');
      const server = await startIo(t, { logger: sink.logger });
      const { client, socket } = await connectPair(t, server, transports);
      socket.onAny(() => {
        throw new Error('onAny bug');
      });
      socket.onAny(async () => {
        throw new Error('async onAny bug');
      });
      socket.onAnyOutgoing(async () => {
        throw new Error('async outgoing bug');
      });
      socket.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      assert.equal(await client.timeout(2000).emitWithAck('echo', 'after'), 'after');
      const got = once(client, 'out');
      socket.emit('out');
      await got;
      errorLine(sink.lines, 'onAny bug');
      errorLine(sink.lines, 'async onAny bug');
      errorLine(sink.lines, 'async outgoing bug');
    });

    test('logs throwing broadcast ack callbacks, answered or timed out, and keeps the server working', async (t) => {
      const sink = logSink('error');
      const server = await startIo(t, { logger: sink.logger });
      const { client, socket } = await connectPair(t, server, transports);
      client.on('answered', (ack: (v: number) => void) => ack(1));
      client.on('silent', () => {});
      await new Promise<void>((resolve) => {
        server.io.timeout(2000).emit('answered', async () => {
          resolve();
          throw new Error('broadcast ack bug');
        });
      });
      await new Promise<void>((resolve) => {
        server.io.timeout(20).emit('silent', () => {
          resolve();
          throw new Error('broadcast timeout bug');
        });
      });
      socket.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      assert.equal(await client.timeout(2000).emitWithAck('echo', 'after'), 'after');
      errorLine(sink.lines, 'broadcast ack bug');
      errorLine(sink.lines, 'broadcast timeout bug');
    });

    test('logs an async classic message callback that rejects and keeps the socket working', async (t) => {
      const sink = logSink('error');
      const server = await startIo(t, { logger: sink.logger });
      server.io.on('message', async () => {
        throw new Error('classic bug');
      });
      const { client, socket } = await connectPair(t, server, transports);
      socket.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
      client.send('hi');
      assert.equal(await client.timeout(2000).emitWithAck('echo', 'after'), 'after');
      errorLine(sink.lines, 'classic bug');
    });
  });
}

describe('io events across the upgrade', () => {
  test('loses, duplicates and reorders no event in either direction while polling upgrades to WebSocket', async (t) => {
    const server = await startIo(t);
    const N = 40;
    const atServer: number[] = [];
    const serverDone = new Promise<ServerSocket>((resolve) => {
      server.io.on('connection', (socket: ServerSocket) => {
        socket.on('up', (i: number) => {
          atServer.push(i);
          if (atServer.length === N) resolve(socket);
        });
        // starts at once, while the client is still on polling
        for (let i = 0; i < N; i++) socket.emit('down', i % 3 === 0 ? Buffer.from([i]) : i);
      });
    });
    const client = openIo(t, server.url, ['polling', 'websocket']);
    const upgraded = once(client.io.engine, 'upgrade');
    const atClient = collect<unknown>(client, 'down', N);
    client.on('connect', () => {
      for (let i = 0; i < N; i++) client.emit('up', i);
    });
    const received = await atClient;
    assert.deepEqual(
      received.map((v) => (typeof v === 'number' ? v : buf(v)[0])),
      Array.from({ length: N }, (_, i) => i),
    );
    const socket = await within(serverDone, 3000, 'every client event');
    assert.deepEqual(atServer, Array.from({ length: N }, (_, i) => i));
    await upgraded;
    assert.equal(socket.conn.transport.name, 'websocket');
  });
});
