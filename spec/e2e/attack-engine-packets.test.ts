// Attacks on the Engine.IO framing: malformed packets of every kind over polling and raw WebSocket
// frames, invalid UTF-8, `\x1e` storms, packet floods (ERR_RATE_LIMITED), odd methods on a live sid.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  assertNoCrash,
  assertRefusals,
  assertStillServes,
  connectedPollingSession,
  httpRequest,
  Opcode,
  rawSocketIo,
  startTarget,
  warnsWith,
  watchCrashes,
} from '../support/attack';
import { until } from '../support/io';
import { once } from '../support/wait';

watchCrashes();
after(assertNoCrash);

/** Polling POST bodies the Engine.IO decoder refuses: the session ends with ERR_BAD_PACKET. */
const BAD_ENGINE_PAYLOADS: ReadonlyArray<readonly [string, string | Buffer]> = [
  ['an unknown type digit 7', '7'],
  ['an unknown type digit 9', '9hello'],
  ['a letter for a type', 'x'],
  ['a NUL for a type', '\x00'],
  ['a type digit from a v3 length prefix', '2:40'],
  ['bad base64 (bad characters)', 'b!!!!'],
  ['bad base64 (padding in the middle)', 'bAQ=ID'],
  ['bad base64 (too much padding)', 'bAQID==='],
  ['an empty body', ''],
  ['a lone record separator', '\x1e'],
  ['a storm of 200 000 record separators', '\x1e'.repeat(200_000)],
  ['good packets, then an empty one', '3\x1e3\x1e\x1e3'],
  ['a trailing record separator', '3\x1e'],
  ['invalid UTF-8 where the type digit goes', Buffer.from([0xff, 0xfe, 0x34])],
];

describe('malformed Engine.IO packets over polling', () => {
  for (const [name, body] of BAD_ENGINE_PAYLOADS) {
    test(`closes the session with ERR_BAD_PACKET on ${name}, and still serves`, async (t) => {
      const target = await startTarget(t);
      const { sid, sessionUrl } = await connectedPollingSession(target.url);
      const post = await httpRequest(sessionUrl, { method: 'POST', body });
      assert.equal(post.status, 200);
      await until(() => !target.io.engine.clients.has(sid), 3000, 'the session to close');
      await assertRefusals(target, 'ERR_BAD_PACKET', 1, { sid, remoteAddress: '127.0.0.1', transport: 'polling' });
      assert.equal((await httpRequest(sessionUrl)).status, 400);
      await assertStillServes(t, target.url);
    });
  }

  test('delivers invalid UTF-8 inside a string as U+FFFD (as the official server) and keeps the session', async (t) => {
    const target = await startTarget(t);
    const got = new Promise<unknown>((resolve) => target.io.on('connection', (s) => s.on('text', resolve)));
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const body = Buffer.concat([Buffer.from('42["text","a'), Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('z"]')]);
    assert.equal((await httpRequest(sessionUrl, { method: 'POST', body })).body, 'ok');
    const text = (await got) as string;
    assert.equal(text[0], 'a');
    assert.equal(text[text.length - 1], 'z');
    assert.ok(text.includes('\ufffd'));
    assert.ok(target.io.engine.clients.has(sid));
    assert.deepEqual(target.sink.lines, []);
    await assertStillServes(t, target.url);
  });
});

/** Text frames the Engine.IO decoder refuses. */
const BAD_ENGINE_FRAMES: ReadonlyArray<readonly [string, string]> = [
  ['an unknown type digit 8', '8'],
  ['an unknown type digit 9 with data', '9{"x":1}'],
  ['a letter for a type', 'z'],
  ['an empty text frame', ''],
  ['a record separator (one packet per frame on WebSocket)', '\x1e'],
  ['bad base64', 'b$$$'],
  ['base64 with whitespace', 'bAQ ID'],
];

describe('malformed Engine.IO packets over raw WebSocket frames', () => {
  for (const [name, frame] of BAD_ENGINE_FRAMES) {
    test(`closes with 1002 ERR_BAD_PACKET on ${name}, and still serves`, async (t) => {
      const target = await startTarget(t);
      const { ws, sid } = await rawSocketIo(t, target.port);
      ws.text(frame);
      const closed = await ws.waitClosed();
      assert.deepEqual(closed, { code: 1002, reason: 'ERR_BAD_PACKET', frame: true });
      await assertRefusals(target, 'ERR_BAD_PACKET', 1, { sid, remoteAddress: '127.0.0.1', transport: 'websocket' });
      await assertStillServes(t, target.url);
    });
  }

  test('closes with 1007 on invalid UTF-8 in a text frame, logs ERR_BAD_PACKET once, and still serves', async (t) => {
    const target = await startTarget(t);
    const { ws, sid } = await rawSocketIo(t, target.port);
    ws.send(Opcode.TEXT, Buffer.concat([Buffer.from('42["x","'), Buffer.from([0xc3, 0x28]), Buffer.from('"]')]));
    const closed = await ws.waitClosed();
    assert.equal(closed.code, 1007);
    await assertRefusals(target, 'ERR_BAD_PACKET', 1, { sid, remoteAddress: '127.0.0.1', detail: 'WS_ERR_INVALID_UTF8' });
    await until(() => !target.io.engine.clients.has(sid));
    await assertStillServes(t, target.url);
  });

  test('closes with 1007 on a lone surrogate encoded in UTF-8 (CESU) in a text frame', async (t) => {
    const target = await startTarget(t);
    const { ws } = await rawSocketIo(t, target.port);
    ws.send(Opcode.TEXT, Buffer.concat([Buffer.from('42["x","'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"]')]));
    assert.equal((await ws.waitClosed()).code, 1007);
    await assertRefusals(target, 'ERR_BAD_PACKET', 1);
    await assertStillServes(t, target.url);
  });

  const PROTOCOL_ERRORS: ReadonlyArray<readonly [string, number, Buffer, string]> = [
    ['a reserved opcode 3', 0x3, Buffer.from('x'), 'WS_ERR_INVALID_OPCODE'],
    ['a reserved control opcode 0xb', 0xb, Buffer.alloc(0), 'WS_ERR_INVALID_OPCODE'],
    ['a continuation frame with no message to continue', Opcode.CONTINUATION, Buffer.from('4x'), 'WS_ERR_INVALID_OPCODE'],
    ['a control frame over 125 bytes', Opcode.PING, Buffer.alloc(126), 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH'],
  ];
  for (const [name, opcode, payload, wsCode] of PROTOCOL_ERRORS) {
    test(`closes with 1002 on ${name}, logs ERR_BAD_PACKET once, and still serves`, async (t) => {
      const target = await startTarget(t);
      const { ws, sid } = await rawSocketIo(t, target.port);
      ws.send(opcode, payload);
      assert.equal((await ws.waitClosed()).code, 1002);
      await assertRefusals(target, 'ERR_BAD_PACKET', 1, { sid, detail: wsCode });
      await assertStillServes(t, target.url);
    });
  }

  // engine.io CVE-2022-21676 (GHSA-273r-mgr4-v34f): ws's RangeError for RSV2/RSV3 escaped as an uncaught exception
  for (const [bit, name] of [[0x20, 'RSV2'], [0x10, 'RSV3']] as const) {
    test(`closes with 1002 on a frame with ${name} set, logs ERR_BAD_PACKET once, and still serves`, async (t) => {
      const target = await startTarget(t);
      const { ws, sid } = await rawSocketIo(t, target.port);
      ws.write(Buffer.from([0x80 | bit | Opcode.TEXT, 0x81, 0, 0, 0, 0, 0x33]));
      assert.equal((await ws.waitClosed()).code, 1002);
      await assertRefusals(target, 'ERR_BAD_PACKET', 1, { sid, detail: 'WS_ERR_UNEXPECTED_RSV_2_3' });
      await assertStillServes(t, target.url);
    });
  }

  test('closes with 1002 on a fragmented control frame', async (t) => {
    const target = await startTarget(t);
    const { ws, sid } = await rawSocketIo(t, target.port);
    ws.send(Opcode.PING, 'x', { fin: false });
    assert.equal((await ws.waitClosed()).code, 1002);
    await assertRefusals(target, 'ERR_BAD_PACKET', 1, { sid, detail: 'WS_ERR_EXPECTED_FIN' });
    await assertStillServes(t, target.url);
  });

  test('closes with 1002 on a compressed (RSV1) frame when permessage-deflate was not negotiated', async (t) => {
    const target = await startTarget(t);
    const { ws } = await rawSocketIo(t, target.port);
    ws.send(Opcode.TEXT, Buffer.from('42["x"]'), { rsv1: true });
    assert.equal((await ws.waitClosed()).code, 1002);
    await assertRefusals(target, 'ERR_BAD_PACKET', 1, { detail: 'WS_ERR_UNEXPECTED_RSV_1' });
    await assertStillServes(t, target.url);
  });

  test('closes with 1002 on an unmasked client frame', async (t) => {
    const target = await startTarget(t);
    const { ws } = await rawSocketIo(t, target.port);
    ws.send(Opcode.TEXT, Buffer.from('42["x"]'), { mask: false });
    assert.equal((await ws.waitClosed()).code, 1002);
    await assertRefusals(target, 'ERR_BAD_PACKET', 1, { detail: 'WS_ERR_EXPECTED_MASK' });
    await assertStillServes(t, target.url);
  });

  test('ends the session with ERR_BAD_PACKET when a v4 client pings (reason "transport error", as the official server)', async (t) => {
    const target = await startTarget(t);
    const socketClosed = new Promise<string>((resolve) => target.io.on('connection', (s) => s.on('disconnect', resolve)));
    const { ws, sid } = await rawSocketIo(t, target.port);
    ws.text('2');
    assert.deepEqual(await ws.waitClosed(), { code: 1002, reason: 'ERR_BAD_PACKET', frame: true });
    assert.equal(await socketClosed, 'transport error');
    await assertRefusals(target, 'ERR_BAD_PACKET', 1, { sid, detail: 'invalid heartbeat direction' });
    await assertStillServes(t, target.url);
  });
});

describe('packet floods: ERR_RATE_LIMITED', () => {
  const RATE = { packetsPerSecond: 200, bytesPerSecond: 1_000_000 };

  test('a polling POST of 100 000 pongs ends the session with ERR_RATE_LIMITED', async (t) => {
    const target = await startTarget(t, { inboundRate: RATE });
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const post = await httpRequest(sessionUrl, { method: 'POST', body: Array(100_000).fill('3').join('\x1e') });
    assert.equal(post.status, 200);
    await until(() => !target.io.engine.clients.has(sid), 3000, 'the session to close');
    await assertRefusals(target, 'ERR_RATE_LIMITED', 1, {
      sid,
      remoteAddress: '127.0.0.1',
      exceeded: 'packetsPerSecond',
      limit: RATE.packetsPerSecond,
    });
    await assertStillServes(t, target.url);
  });

  test('a polling flood of event packets, one POST after another, ends the session with ERR_RATE_LIMITED', async (t) => {
    const target = await startTarget(t, { inboundRate: RATE });
    let events = 0;
    target.io.on('connection', (s) => s.on('x', () => events++));
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const body = Array(100).fill('42["x"]').join('\x1e');
    // bounded: the budget (burst 2 × 200) is gone after 4 or 5 POSTs
    for (let i = 0; i < 20 && target.io.engine.clients.has(sid); i++) {
      const post = await httpRequest(sessionUrl, { method: 'POST', body });
      assert.ok(post.status === 200 || post.status === 400, `POST ${i}: ${post.status}`);
    }
    assert.equal(target.io.engine.clients.has(sid), false);
    assert.ok(events <= 2 * RATE.packetsPerSecond + RATE.packetsPerSecond, `${events} events let through`);
    await assertRefusals(target, 'ERR_RATE_LIMITED', 1, { sid, exceeded: 'packetsPerSecond' });
    await assertStillServes(t, target.url);
  });

  // a v4 client never pings: the first `2` of a flood ends the session, so the budget never comes into play
  test('a flood of pings (`2`) over polling and WebSocket ends each session at the first one, with one refusal line', async (t) => {
    const target = await startTarget(t, { inboundRate: RATE });
    const polling = await connectedPollingSession(target.url);
    assert.equal((await httpRequest(polling.sessionUrl, { method: 'POST', body: Array(100_000).fill('2').join('\x1e') })).status, 200);
    const { ws, sid } = await rawSocketIo(t, target.port);
    ws.write(Buffer.concat(Array.from({ length: 5000 }, () => Buffer.from([0x81, 0x81, 0, 0, 0, 0, 0x32]))));
    assert.deepEqual(await ws.waitClosed(), { code: 1002, reason: 'ERR_BAD_PACKET', frame: true });
    await until(() => target.io.engine.clientsCount === 0);
    const lines = await assertRefusals(target, 'ERR_BAD_PACKET', 2, { detail: 'invalid heartbeat direction' });
    assert.deepEqual(lines.map((l) => l.sid).sort(), [polling.sid, sid].sort());
    assert.deepEqual(warnsWith(target.sink, 'ERR_RATE_LIMITED'), []);
    await assertStillServes(t, target.url);
  });

  test('a WebSocket flood of pongs closes with 1008 ERR_RATE_LIMITED', async (t) => {
    const target = await startTarget(t, { inboundRate: RATE });
    const { ws, sid } = await rawSocketIo(t, target.port);
    const frames = Buffer.concat(Array.from({ length: 5000 }, () => Buffer.from([0x81, 0x81, 0, 0, 0, 0, 0x33])));
    ws.write(frames);
    assert.deepEqual(await ws.waitClosed(), { code: 1008, reason: 'ERR_RATE_LIMITED', frame: true });
    await assertRefusals(target, 'ERR_RATE_LIMITED', 1, { sid, remoteAddress: '127.0.0.1', transport: 'websocket', limit: RATE.packetsPerSecond });
    await assertStillServes(t, target.url);
  });

  test('a WebSocket flood of events closes with 1008 ERR_RATE_LIMITED; the handler saw a bounded number', async (t) => {
    const target = await startTarget(t, { inboundRate: RATE });
    let events = 0;
    target.io.on('connection', (s) => s.on('x', () => events++));
    const { ws } = await rawSocketIo(t, target.port);
    for (let i = 0; i < 3000; i++) ws.text('42["x"]');
    assert.equal((await ws.waitClosed()).code, 1008);
    // the burst (twice the rate), and what refilled meanwhile
    assert.ok(events <= 3 * RATE.packetsPerSecond, `${events} events let through`);
    await assertRefusals(target, 'ERR_RATE_LIMITED', 1);
    await assertStillServes(t, target.url);
  });

  test('a byte flood (few large messages) ends the session with ERR_RATE_LIMITED on bytesPerSecond', async (t) => {
    const target = await startTarget(t, { inboundRate: { packetsPerSecond: 5000, bytesPerSecond: 50_000 }, maxHttpBufferSize: 60_000 });
    const { ws } = await rawSocketIo(t, target.port);
    const big = `42["x","${'y'.repeat(50_000)}"]`;
    for (let i = 0; i < 4; i++) ws.text(big);
    assert.deepEqual(await ws.waitClosed(), { code: 1008, reason: 'ERR_RATE_LIMITED', frame: true });
    await assertRefusals(target, 'ERR_RATE_LIMITED', 1, { exceeded: 'bytesPerSecond', limit: 50_000 });
    await assertStillServes(t, target.url);
  });

  test('the default budget lets an honest burst through', async (t) => {
    const target = await startTarget(t);
    let events = 0;
    const all = new Promise<void>((resolve) =>
      target.io.on('connection', (s) =>
        s.on('x', () => {
          if (++events === 2000) resolve();
        }),
      ),
    );
    const { ws } = await rawSocketIo(t, target.port);
    for (let i = 0; i < 2000; i++) ws.text('42["x"]');
    await all;
    assert.deepEqual(warnsWith(target.sink, 'ERR_RATE_LIMITED'), []);
    await assertStillServes(t, target.url);
  });
});

describe('odd methods on a live sid', () => {
  for (const method of ['PUT', 'DELETE', 'PATCH', 'TRACE', 'PROPFIND', 'OPTIONS']) {
    test(`answers ${method} with 400 code 3 (never 500), logs it once, and the session goes on`, async (t) => {
      const target = await startTarget(t);
      const { sid, sessionUrl } = await connectedPollingSession(target.url);
      const res = await httpRequest(sessionUrl, { method, body: method === 'TRACE' ? undefined : '42["x"]' });
      assert.equal(res.status, 400);
      assert.deepEqual(JSON.parse(res.body), { code: 3, message: 'Bad request' });
      await assertRefusals(target, 'ERR_BAD_REQUEST', 1, { sid, remoteAddress: '127.0.0.1', method });
      assert.ok(target.io.engine.clients.has(sid));
      const got = once<[string]>(target.io.of('/').sockets.values().next().value as never, 'y');
      assert.equal((await httpRequest(sessionUrl, { method: 'POST', body: '42["y","after"]' })).body, 'ok');
      assert.deepEqual(await got, ['after']);
      await assertStillServes(t, target.url);
    });
  }

  test('answers HEAD on a live sid without a body and never 500', async (t) => {
    const target = await startTarget(t);
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const res = await httpRequest(sessionUrl, { method: 'HEAD' });
    assert.equal(res.status, 400);
    assert.equal(res.body, '');
    await assertRefusals(target, 'ERR_BAD_REQUEST', 1, { sid, method: 'HEAD' });
    assert.ok(target.io.engine.clients.has(sid));
    await assertStillServes(t, target.url);
  });
});
