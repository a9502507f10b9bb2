// Attacks over raw WebSocket frames: permessage-deflate bombs, lying frame lengths, ping floods from a
// peer that never reads, a million tiny fragments, half-open upgrades, takeovers and stuck probes.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import {
  assertNoCrash,
  assertRefusals,
  assertStillServes,
  encodeFrame,
  httpRequest,
  Opcode,
  pollingSession,
  rawSocketIo,
  rawUpgrade,
  startTarget,
  watchCrashes,
  type RawWebSocket,
} from '../support/attack';
import { closeClient, connectIo, until } from '../support/io';
import { within } from '../support/wait';

watchCrashes();
after(assertNoCrash);

/** The first `n` bytes of a deflate stream ending with a sync flush, as permessage-deflate sends (RFC 7692 §7.2.1). */
function deflateMessage(data: Buffer): Buffer {
  const out = zlib.deflateRawSync(data, { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
}

async function deflateSocket(t: Parameters<typeof rawSocketIo>[0], port: number): Promise<{ ws: RawWebSocket; sid: string }> {
  return rawSocketIo(t, port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; server_no_context_takeover; client_max_window_bits' } });
}

describe('permessage-deflate bombs', () => {
  test('closes with 1009 while inflating a 64 MiB message sent as 64 KiB, logs ERR_PAYLOAD_TOO_LARGE once', async (t) => {
    const target = await startTarget(t, { perMessageDeflate: true });
    const { ws, sid } = await deflateSocket(t, target.port);
    const bomb = Buffer.alloc(64 * 1024 * 1024, 0x61);
    bomb.write('42["x","');
    const compressed = deflateMessage(bomb);
    assert.ok(compressed.length < 128 * 1024, `${compressed.length} compressed bytes`);
    ws.send(Opcode.TEXT, compressed, { rsv1: true });
    assert.equal((await ws.waitClosed(5000)).code, 1009);
    await assertRefusals(target, 'ERR_PAYLOAD_TOO_LARGE', 1, {
      sid,
      remoteAddress: '127.0.0.1',
      limit: 1e6,
      size: (v: unknown) => typeof v === 'string' && v.startsWith('>1000000 inflated from'),
    });
    await until(() => !target.io.engine.clients.has(sid));
    await assertStillServes(t, target.url);
  });

  test('closes with 1009 on a bomb split over many compressed fragments', async (t) => {
    const target = await startTarget(t, { perMessageDeflate: true, maxHttpBufferSize: 100_000 });
    const { ws } = await deflateSocket(t, target.port);
    const part = Buffer.alloc(1024 * 1024, 0x61);
    const frames: Buffer[] = [];
    const z = zlib.createDeflateRaw({ level: 9 });
    const pieces: Buffer[] = [];
    z.on('data', (c: Buffer) => pieces.push(c));
    for (let i = 0; i < 8; i++) {
      z.write(part);
      await new Promise<void>((resolve) => z.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve()));
      const chunk = Buffer.concat(pieces.splice(0));
      frames.push(encodeFrame(i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, i === 7 ? chunk.subarray(0, chunk.length - 4) : chunk, { fin: i === 7, rsv1: i === 0 }));
    }
    z.close();
    ws.write(Buffer.concat(frames));
    assert.equal((await ws.waitClosed(5000)).code, 1009);
    await assertRefusals(target, 'ERR_PAYLOAD_TOO_LARGE', 1, { limit: 100_000 });
    await assertStillServes(t, target.url);
  });

  test('delivers an honest compressed message under the limit', async (t) => {
    const target = await startTarget(t, { perMessageDeflate: true });
    const { ws } = await deflateSocket(t, target.port);
    ws.send(Opcode.TEXT, deflateMessage(Buffer.from(`421["echo","${'c'.repeat(10_000)}"]`)), { rsv1: true });
    assert.equal(await ws.textFrame((s) => s.startsWith('431')), `431["${'c'.repeat(10_000)}"]`);
    assert.deepEqual(target.sink.lines, []);
  });
});

describe('lying frame lengths', () => {
  const LENGTHS: ReadonlyArray<readonly [string, Buffer]> = [
    ['1 GiB', Buffer.from([0x81, 0xff, 0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0, 0, 0])],
    ['2^53 + 1 bytes (past what JavaScript counts exactly)', Buffer.from([0x81, 0xff, 0, 0x20, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])],
    ['2^63 bytes', Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])],
  ];
  for (const [name, head] of LENGTHS) {
    test(`closes with 1009 at the header of a frame announcing ${name}, before any payload`, async (t) => {
      const target = await startTarget(t);
      const { ws, sid } = await rawSocketIo(t, target.port);
      ws.write(head);
      assert.equal((await ws.waitClosed()).code, 1009);
      await assertRefusals(target, 'ERR_PAYLOAD_TOO_LARGE', 1, { sid, limit: 1e6 });
      await assertStillServes(t, target.url);
    });
  }
});

describe('a peer that floods pings and never reads', () => {
  test('keeps the session\'s pending bytes bounded by maxHttpBufferSize, then closes it with 1008 ERR_RATE_LIMITED', async (t) => {
    const LIMIT = 20_000;
    const target = await startTarget(t, { maxHttpBufferSize: LIMIT, inboundRate: { packetsPerSecond: 100_000, bytesPerSecond: 64 * 1024 * 1024 } });
    const { ws, sid } = await rawSocketIo(t, target.port);
    const session = target.io.engine.clients.get(sid);
    assert.ok(session);
    ws.socket.pause();
    const burst = Buffer.concat(Array.from({ length: 1000 }, () => encodeFrame(Opcode.PING, Buffer.alloc(125, 0x70))));
    let maxPending = 0;
    let written = 0;
    // bounded: 300 000 pings at most; the budget (burst 200 000) is gone well before
    const flood = (): void => {
      while (written < 300 && session.readyState === 'open') {
        written++;
        if (!ws.write(burst)) {
          ws.socket.once('drain', flood);
          return;
        }
      }
    };
    flood();
    await until(
      () => {
        maxPending = Math.max(maxPending, session.pendingBytes);
        return session.readyState === 'closed';
      },
      20_000,
      'the flood to be refused',
    );
    assert.ok(maxPending <= LIMIT + 131, `pending bytes peaked at ${maxPending}`);
    await assertRefusals(target, 'ERR_RATE_LIMITED', 1, { sid, remoteAddress: '127.0.0.1', exceeded: 'packetsPerSecond', limit: 100_000 });
    // once it reads again: the pongs it was given, then the close frame with the code
    ws.socket.resume();
    assert.deepEqual(await ws.waitClosed(10_000), { code: 1008, reason: 'ERR_RATE_LIMITED', frame: true });
    const pongs = ws.frames.filter((f) => f.opcode === Opcode.PONG).length;
    assert.ok(pongs < written * 1000, `${pongs} pongs for ${written * 1000} pings`);
    await assertStillServes(t, target.url);
  });

  test('with the default budget a ping flood ends in ERR_RATE_LIMITED too', async (t) => {
    const target = await startTarget(t);
    const { ws, sid } = await rawSocketIo(t, target.port);
    ws.socket.pause();
    ws.write(Buffer.concat(Array.from({ length: 12_000 }, () => encodeFrame(Opcode.PING))));
    await until(() => !target.io.engine.clients.has(sid), 5000, 'the flood to be refused');
    await assertRefusals(target, 'ERR_RATE_LIMITED', 1, { sid, limit: 5000 });
    ws.socket.resume();
    assert.equal((await ws.waitClosed()).code, 1008);
    await assertStillServes(t, target.url);
  });
});

describe('a million tiny fragments', () => {
  for (const [name, payload] of [['1-byte', Buffer.from('x')], ['empty', Buffer.alloc(0)]] as const) {
    test(`closes with 1008 after 16 Ki of 1 000 000 ${name} continuation frames, logs ERR_BAD_PACKET once`, async (t) => {
      const target = await startTarget(t);
      const { ws, sid } = await rawSocketIo(t, target.port);
      const one = encodeFrame(Opcode.CONTINUATION, payload, { fin: false });
      const block = Buffer.concat(Array(10_000).fill(one));
      ws.send(Opcode.TEXT, '42["x","', { fin: false });
      // bounded: 100 blocks of 10 000 frames, and no more once the server has closed
      for (let i = 0; i < 100 && !ws.socket.destroyed && ws.frames.every((f) => f.opcode !== Opcode.CLOSE); i++) {
        if (!ws.write(block)) await within(ws.drained(), 5000, 'drain');
      }
      const closed = await ws.waitClosed(10_000);
      assert.equal(closed.code, 1008);
      await assertRefusals(target, 'ERR_BAD_PACKET', 1, { sid, detail: 'WS_ERR_TOO_MANY_BUFFERED_PARTS' });
      await assertStillServes(t, target.url);
    });
  }

  test('accepts a message in 1000 fragments', async (t) => {
    const target = await startTarget(t);
    const { ws } = await rawSocketIo(t, target.port);
    const text = '421["echo","' + 'f'.repeat(998) + '"]';
    const frames = [...text].map((c, i, all) => encodeFrame(i === 0 ? Opcode.TEXT : Opcode.CONTINUATION, c, { fin: i === all.length - 1 }));
    ws.write(Buffer.concat(frames));
    assert.equal(await ws.textFrame((s) => s.startsWith('431')), `431["${'f'.repeat(998)}"]`);
  });
});

describe('half-open upgrades', () => {
  test('WebSocket handshakes that never read are ended by the heartbeat, and their sockets by the close timeout', async (t) => {
    const target = await startTarget(t, { pingInterval: 200, pingTimeout: 200 });
    const count = (): Promise<number> => new Promise((resolve, reject) => target.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    const before = await count();
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => rawUpgrade(t, target.port, '/socket.io/?EIO=4&transport=websocket', { paused: true })),
    );
    assert.ok(answers.every((a) => a.status === 101));
    assert.equal(target.io.engine.clientsCount, 100);
    await until(() => target.io.engine.clientsCount === 0, 3000, 'the heartbeat to end every session');
    let now = Infinity;
    await until(
      () => {
        void count().then((n) => (now = n));
        return now <= before;
      },
      3000,
      'the server to drop every half-open socket',
    );
    await assertStillServes(t, target.url);
  });

  test('a probe that never probes is closed after upgradeTimeout and polling goes on', async (t) => {
    const target = await startTarget(t, { upgradeTimeout: 300 });
    const { sid, sessionUrl } = await pollingSession(target.url);
    const answer = await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    assert.equal(answer.status, 101);
    const closed = await (answer.ws as RawWebSocket).waitClosed(3000);
    assert.equal(closed.frame, true);
    const session = target.io.engine.clients.get(sid);
    assert.equal(session?.transport.name, 'polling');
    assert.equal(session?.upgrading, false);
    assert.equal((await httpRequest(sessionUrl, { method: 'POST', body: '40' })).body, 'ok');
    assert.match((await httpRequest(sessionUrl)).body, /^40\{"sid"/);
    await assertStillServes(t, target.url);
  });

  test('a binary frame instead of the probe fails the upgrade only', async (t) => {
    const target = await startTarget(t);
    const { sid, sessionUrl } = await pollingSession(target.url);
    const answer = await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    (answer.ws as RawWebSocket).binary(Buffer.from('2probe'));
    await (answer.ws as RawWebSocket).waitClosed();
    assert.equal(target.io.engine.clients.get(sid)?.transport.name, 'polling');
    assert.equal((await httpRequest(sessionUrl, { method: 'POST', body: '40' })).body, 'ok');
    await assertStillServes(t, target.url);
  });
});

describe('probe floods', () => {
  test('answers one 2probe only: a flood of probes from a peer that never reads fails the upgrade, polling goes on', async (t) => {
    const target = await startTarget(t);
    const { sid, sessionUrl } = await pollingSession(target.url);
    const probe = (await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`, { paused: true })).ws as RawWebSocket;
    // bounded: 100 000 probes, written once
    probe.write(Buffer.concat(Array.from({ length: 100_000 }, () => encodeFrame(Opcode.TEXT, '2probe'))));
    probe.socket.resume();
    const closed = await probe.waitClosed(5000);
    assert.equal(closed.frame, true);
    const answers = probe.frames.filter((f) => f.opcode === Opcode.TEXT && f.payload.toString() === '3probe').length;
    assert.equal(answers, 1);
    assert.equal(target.io.engine.clients.get(sid)?.transport.name, 'polling');
    assert.equal((await httpRequest(sessionUrl, { method: 'POST', body: '40' })).body, 'ok');
    await assertStillServes(t, target.url);
  });

  test('counts probe packets against the inbound budget', async (t) => {
    const target = await startTarget(t, { inboundRate: { packetsPerSecond: 50, bytesPerSecond: 1_000_000 } });
    const { sid } = await pollingSession(target.url);
    const probe = (await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`)).ws as RawWebSocket;
    // pongs are harmless to the probe (ignored until 2probe), but each one costs a token
    probe.write(Buffer.concat(Array.from({ length: 500 }, () => encodeFrame(Opcode.PONG))));
    await until(() => !target.io.engine.clients.has(sid), 3000, 'the budget to end the session');
    await assertRefusals(target, 'ERR_RATE_LIMITED', 1, { sid });
    await assertStillServes(t, target.url);
  });
});

describe('WebSocket takeover', () => {
  test('refuses a second WebSocket for a session already on WebSocket before the 101; the first is unaffected', async (t) => {
    const target = await startTarget(t);
    const first = await connectIo(t, target.url, ['websocket']);
    const sid = first.io.engine.id as string;
    const res = await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    assert.equal(res.status, 400);
    assert.equal(res.body, 'Bad request');
    await assertRefusals(target, 'ERR_UPGRADE_REFUSED', 1, { sid, remoteAddress: '127.0.0.1', transport: 'websocket' });
    assert.equal(await first.timeout(2000).emitWithAck('echo', 'first'), 'first');
    closeClient(first);
    await assertStillServes(t, target.url);
  });

  test('refuses a second probe while one is on trial; the first completes the upgrade', async (t) => {
    const target = await startTarget(t);
    const { sid, sessionUrl } = await pollingSession(target.url);
    const probe = (await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`)).ws as RawWebSocket;
    probe.text('2probe');
    await probe.textFrame((s) => s === '3probe');
    const second = await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
    assert.equal(second.status, 400);
    await assertRefusals(target, 'ERR_UPGRADE_REFUSED', 1, { sid, transport: 'polling' });
    probe.text('5');
    await until(() => target.io.engine.clients.get(sid)?.transport.name === 'websocket');
    const from = probe.frames.length;
    probe.text('40');
    await probe.textFrame((s) => s.startsWith('40{'), 3000, from);
    assert.equal((await httpRequest(sessionUrl)).status, 400);
    await assertStillServes(t, target.url);
  });
});
