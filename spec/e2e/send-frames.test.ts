// The WebSocket send path: frames built once and written to the socket, later writes of a tick held and
// written together, and ws's own path (compression, a busy sender) — order and frame boundaries kept,
// shared broadcast packets never changed.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Encoder } from 'socket.io-parser';
import WebSocket from 'ws';
import type { EnginePacket } from '../../lib/codec/engine-packet';
import type { EncodedPacket } from '../../lib/codec/types';
import type { TrackingEncoder } from '../../lib/io/tracking-encoder';
import { connectIo, connectNamespace, startIo, until, type ClientSocket, type ConnectIoOptions, type ServerSocket, type Transports } from '../support/io';
import { within } from '../support/wait';

/** What a raw client records: each message as it came (text or binary), and pongs as this marker. */
const PONG = 'pong frame';
type Received = string | Buffer;

interface RawClient {
  readonly ws: WebSocket;
  readonly received: Received[];
  readonly socket: ServerSocket;
  /** Resolves with the close code. */
  readonly closed: Promise<number>;
}

/** A bare `ws` client speaking Engine.IO v4 / Socket.IO v5 itself: every frame it gets is recorded. */
async function rawClient(t: TestContext, io: Awaited<ReturnType<typeof startIo>>, opts: { deflate?: boolean; b64?: boolean } = {}): Promise<RawClient> {
  const query = `EIO=4&transport=websocket${opts.b64 ? '&b64=1' : ''}`;
  const ws = new WebSocket(`ws://127.0.0.1:${io.port}/socket.io/?${query}`, { perMessageDeflate: opts.deflate === true });
  t.after(() => ws.terminate());
  const received: Received[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    // an Engine.IO ping (the heartbeat's, or one confirming a busy connection's messages): answered, not data
    if (!isBinary && data.length === 1 && data[0] === 0x32) {
      ws.send('3');
      return;
    }
    received.push(isBinary ? Buffer.from(data) : data.toString('utf8'));
  });
  ws.on('pong', () => received.push(PONG));
  const closed = within(
    new Promise<number>((resolve) => ws.once('close', (code: number) => resolve(code))),
    20_000,
    'raw client close',
  );
  closed.catch(() => {});
  await until(() => received.length >= 1, 3000, 'open packet');
  assert.match(received[0] as string, /^0\{"sid":/);
  ws.send('40');
  await until(() => received.length >= 2, 3000, 'CONNECT reply');
  const { sid } = JSON.parse((received[1] as string).slice(2)) as { sid: string };
  received.length = 0;
  if (opts.deflate) assert.match(ws.extensions, /permessage-deflate/);
  const socket = io.io.of('/').sockets.get(sid) as ServerSocket;
  assert.ok(socket);
  return { ws, received, socket, closed };
}

const parser = new Encoder();

/** The Engine.IO messages an event becomes, as the official parser encodes it: text first, then attachments. */
function wire(args: unknown[], b64: boolean, nsp = '/'): Received[] {
  const [text, ...attachments] = parser.encode({ type: 2, nsp, data: args }) as [string, ...Buffer[]];
  return ['4' + text, ...attachments.map((b) => (b64 ? 'b' + Buffer.from(b).toString('base64') : Buffer.from(b)))];
}

/** Sizes around the frame header's limits (125 | 126, 65535 | 65536), and a few others. */
const SIZES = [0, 1, ...Array.from({ length: 40 }, (_, i) => 100 + i), 65_500, 65_520, 65_530, 65_533, 65_534, 65_535, 65_536, 65_540, 100_000];

/** Item `i` of a burst: text (with multi-byte characters), binary, a broadcast, or two attachments. */
function item(i: number): { args: unknown[]; broadcast: boolean } {
  const size = SIZES[i % SIZES.length];
  switch (i % 4) {
    case 0:
      return { args: ['t', i, 'é€😀'.repeat(i % 3) + 'a'.repeat(size)], broadcast: false };
    case 1:
      return { args: ['bin', i, Buffer.alloc(size, i & 0xff)], broadcast: false };
    case 2:
      return { args: ['b', i, 'x'.repeat(size), Buffer.from([i & 0xff, 1, 2])], broadcast: true };
    default:
      return { args: ['two', i, Buffer.alloc(size, 7), Buffer.from('end')], broadcast: false };
  }
}

/** Sends items `from` to `to` (excluded) to `socket`, in this tick; returns what the client should get. */
function burst(socket: ServerSocket, from: number, to: number, b64: boolean): Received[] {
  const expected: Received[] = [];
  for (let i = from; i < to; i++) {
    const { args, broadcast } = item(i);
    if (broadcast) socket.nsp.emit(args[0] as string, ...args.slice(1));
    else socket.emit(args[0] as string, ...args.slice(1));
    expected.push(...wire(args, b64));
  }
  return expected;
}

const MODES = [
  ['frames written by us', { deflate: false, b64: false }],
  ['binary as base64 (b64=1)', { deflate: false, b64: true }],
  ['permessage-deflate (every write through ws)', { deflate: true, b64: false }],
] as const;

describe('WebSocket send path', () => {
  for (const [name, mode] of MODES) {
    describe(name, () => {
      test('bursts of direct emits and broadcasts arrive in order, one message per packet, pongs and the close frame after what preceded them', async (t) => {
        // a ping is answered only while less than maxHttpBufferSize waits to be written: room for the bursts
        const io = await startIo(t, { perMessageDeflate: mode.deflate, maxHttpBufferSize: 1e8, maxQueuedBytes: 64 << 20, maxQueuedPackets: 100_000 });
        const expected: Received[] = [];
        let next = 0;
        io.io.on('connection', (socket) => {
          socket.on('go', (count: number) => {
            expected.push(...burst(socket as ServerSocket, next, next + count, mode.b64));
            next += count;
          });
          // DISCONNECT, then the close frame, in the same tick as the last burst
          socket.on('end', (count: number) => {
            expected.push(...burst(socket as ServerSocket, next, next + count, mode.b64), '41');
            socket.disconnect(true);
          });
        });
        const client = await rawClient(t, io, mode);
        client.ws.send('42["go",60]');
        client.ws.ping();
        client.ws.send('42["go",1]');
        client.ws.send('42["go",60]');
        client.ws.ping();
        client.ws.send('42["end",20]');
        assert.equal(await client.closed, 1005);
        const data = client.received.filter((m) => m !== PONG);
        assert.equal(client.received.length - data.length, 2, 'both pings answered');
        assert.equal(data.length, expected.length);
        for (let i = 0; i < expected.length; i++) assert.deepEqual(data[i], expected[i], `message ${i}`);
      });

      test('keeps order while the client does not read: writes back up, then every message arrives', async (t) => {
        const io = await startIo(t, { perMessageDeflate: mode.deflate, maxQueuedBytes: 256 << 20, maxQueuedPackets: 1_000_000 });
        const client = await rawClient(t, io, mode);
        const { socket } = client;
        client.ws.pause();
        const expected: Received[] = [];
        let next = 0;
        // until Node itself holds bytes (the kernel's buffers are full), one tick at a time
        for (let round = 0; round < 2000 && socket.conn.pendingBytes === 0; round++) {
          expected.push(...burst(socket, next, next + 8, mode.b64));
          next += 8;
          await nextTurn();
        }
        assert.ok(socket.conn.pendingBytes > 0, 'writes backed up');
        // more while backed up: a burst in one tick, then one item per tick
        expected.push(...burst(socket, next, next + 100, mode.b64));
        next += 100;
        for (let n = 0; n < 20; n++) {
          expected.push(...burst(socket, next, next + 1, mode.b64));
          next += 1;
          await nextTurn();
        }
        socket.disconnect(true);
        expected.push('41');
        client.ws.resume();
        assert.equal(await client.closed, 1005);
        assert.equal(client.received.length, expected.length);
        for (let i = 0; i < expected.length; i++) assert.deepEqual(client.received[i], expected[i], `message ${i}`);
      });
    });
  }

  test('a broadcast packet is never changed by its delivery: same bytes to every transport and namespace', async (t) => {
    const io = await startIo(t);
    io.io.of('/other');
    // every encoded broadcast frozen (a write to it would throw), its engine packets' data kept to compare
    const kept: Array<{ packets: readonly EnginePacket[]; copies: Received[] }> = [];
    const encoder = io.io.of('/').adapter.encoder as TrackingEncoder;
    assert.equal(io.io.of('/other').adapter.encoder, encoder);
    const encode = encoder.encode.bind(encoder);
    encoder.encode = (packet): EncodedPacket => {
      const encoded = encode(packet);
      const { packets } = encoder.describe(encoded);
      kept.push({ packets, copies: packets.map((p) => (typeof p.data === 'string' ? p.data : Buffer.from(p.data as Buffer))) });
      Object.freeze(packets);
      return Object.freeze(encoded) as EncodedPacket;
    };
    const clients: ClientSocket[] = [];
    const variants: Array<[Transports, ConnectIoOptions]> = [
      [['websocket'], {}],
      [['polling'], {}],
      [['websocket'], { forceBase64: true }],
    ];
    for (const [transports, opts] of variants) {
      const main = await connectIo(t, io.url, transports, opts);
      clients.push(main, await connectNamespace(main, '/other'));
    }
    const raw = await rawClient(t, io);
    const rawB64 = await rawClient(t, io, { b64: true });
    const args = ['news', 'héllo €😀', Buffer.from([0, 1, 2, 255]), { n: 1, list: [Buffer.alloc(200, 3)] }] as const;
    const got = clients.map((client) => {
      const answers: unknown[][] = [];
      client.on('news', (...answer: unknown[]) => answers.push(answer));
      return answers;
    });
    for (let round = 0; round < 3; round++) {
      io.io.emit(...args);
      io.io.of('/other').emit(...args);
    }
    await until(() => got.every((answers) => answers.length === 3), 3000, 'every client got the broadcasts');
    for (const answers of got) for (const answer of answers) assert.deepEqual(answer, args.slice(1));
    await until(() => raw.received.length >= 9 && rawB64.received.length >= 9, 3000, 'raw clients got the broadcasts');
    const one = wire([...args], false);
    assert.deepEqual(raw.received, [...one, ...one, ...one]);
    const oneB64 = wire([...args], true);
    assert.deepEqual(rawB64.received, [...oneB64, ...oneB64, ...oneB64]);
    assert.equal(kept.length, 6);
    for (const { packets, copies } of kept) {
      packets.forEach((p, i) => assert.deepEqual(typeof p.data === 'string' ? p.data : Buffer.from(p.data as Buffer), copies[i]));
    }
  });
});
