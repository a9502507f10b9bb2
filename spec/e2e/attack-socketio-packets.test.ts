// Attacks on the Socket.IO packets: bad JSON, wrong payload types, bad namespaces, unknown types,
// reserved and non-string event names, huge and fractional ack ids and placeholder nums, deep nesting,
// attachment-count lies, binary where text is expected — over raw WebSocket frames and raw polling.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  assertNoCrash,
  assertRefusals,
  assertStillServes,
  connectedPollingSession,
  httpRequest,
  rawSocketIo,
  startTarget,
  warnsWith,
  watchCrashes,
  type RawWebSocket,
} from '../support/attack';
import { until } from '../support/io';

watchCrashes();
after(assertNoCrash);

const ph = (num: unknown): string => `{"_placeholder":true,"num":${typeof num === 'string' ? num : JSON.stringify(num)}}`;
const nested = (n: number, open = '[', close = ']'): string => open.repeat(n) + close.repeat(n);

/** Engine.IO messages (text, or Buffer for a binary frame) that must end the session with ERR_BAD_PACKET. */
const VIOLATIONS: ReadonlyArray<readonly [string, ReadonlyArray<string | Buffer>]> = [
  // bad JSON
  ['an EVENT with truncated JSON', ['2["x"']],
  ['an EVENT with a trailing comma', ['2["x",]']],
  ['an EVENT with single quotes', ["2['x']"]],
  ['an EVENT with NaN', ['2["x",NaN]']],
  ['a CONNECT with truncated JSON', ['0/admin,{"token":']],
  ['an ACK with garbage after the id', ['31abc']],
  // wrong payload types
  ['an EVENT whose payload is an object', ['2{"a":1}']],
  ['an EVENT whose payload is an empty array', ['2[]']],
  ['an EVENT whose payload is a string', ['2"x"']],
  ['an EVENT whose payload is a number', ['21']],
  ['an ACK without an id', ['3["x"]']],
  ['an ACK whose payload is an object', ['31{"a":1}']],
  ['a DISCONNECT with a payload', ['1{}']],
  ['a second CONNECT with an array payload', ['0[]']],
  ['a CONNECT_ERROR from the client', ['4{"message":"x"}']],
  ['a CONNECT_ERROR with a number payload', ['4/x,1']],
  // non-string and reserved event names
  ['an EVENT named by a number', ['2[1,"x"]']],
  ['an EVENT named by null', ['2[null]']],
  ['an EVENT named by an object', ['2[{"toString":"x"}]']],
  ['an EVENT named by an array', ['2[["x"]]']],
  ['an EVENT named by true', ['2[true]']],
  ...['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'].map(
    (name) => [`the reserved event name "${name}"`, [`2["${name}"]`]] as const,
  ),
  ['an event name over 256 characters', [`2["${'e'.repeat(257)}"]`]],
  // bad namespaces
  ['an EVENT for a namespace never joined', ['2/nope,["x"]']],
  ['a namespace over 256 characters', [`0/${'n'.repeat(300)},`]],
  ['a namespace without its slash', ['0admin,']],
  ['a DISCONNECT for a namespace never joined', ['1/never,']],
  // unknown packet types
  ['packet type 7', ['7']],
  ['packet type 8', ['8["x"]']],
  ['a letter for a packet type', ['a["x"]']],
  ['an empty message', ['']],
  ['a NUL for a packet type', ['\x00']],
  // ack ids
  ['an ack id of 17 digits', ['212345678901234567["x"]']],
  ['an ack id past 2^53', ['29007199254740993["x"]']],
  ['a fractional ack id', ['21.5["x"]']],
  ['a negative ack id', ['2-1["x"]']],
  ['an ack id in exponent form', ['21e3["x"]']],
  ['an ack id on a CONNECT', ['05{}']],
  ['an ack id of 400 digits', [`2${'9'.repeat(400)}["x"]`]],
  // placeholders
  ['a placeholder num past the attachments', [`51-["x",${ph(1)}]`, Buffer.from([1])]],
  ['a fractional placeholder num', [`51-["x",${ph(0.5)}]`, Buffer.from([1])]],
  ['a negative placeholder num', [`51-["x",${ph(-1)}]`, Buffer.from([1])]],
  ['a huge placeholder num', [`51-["x",${ph('1e308')}]`, Buffer.from([1])]],
  ['a string placeholder num', [`51-["x",${ph('"0"')}]`, Buffer.from([1])]],
  ['a placeholder num past 2^53', [`51-["x",${ph('9007199254740993')}]`, Buffer.from([1])]],
  ['a placeholder without num', ['51-["x",{"_placeholder":true}]', Buffer.from([1])]],
  // deep nesting
  ['10 000 nested arrays', [`2["x",${nested(10_000)}]`]],
  ['10 000 nested objects', [`2["x",${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}]`]],
  ['10 000 unclosed arrays', [`2["x",${'['.repeat(10_000)}`]],
  ['10 000 nested arrays in CONNECT auth', [`0/admin,{"a":${nested(10_000)}}`]],
  ['10 000 nested arrays in an ACK', [`31[${nested(10_000)}]`]],
  ['33 nested arrays (one past maxDepth)', [`2["x",${nested(32)}]`]],
  // attachment-count lies
  ['3 attachments announced, 1 sent, then a text packet', [`53-["x",${ph(0)},${ph(1)},${ph(2)}]`, Buffer.from([1]), '2["y"]']],
  ['1 attachment announced, 5 binaries sent', [`51-["x",${ph(0)}]`, Buffer.from([1]), Buffer.from([2]), Buffer.from([3]), Buffer.from([4]), Buffer.from([5])]],
  ['11 attachments announced (maxAttachments is 10)', [`511-["x",${ph(0)}]`]],
  ['0 attachments announced', ['50-["x"]']],
  ['a billion attachments announced', [`51000000000-["x",${ph(0)}]`]],
  ['an attachment count without its dash', [`51["x",${ph(0)}]`]],
  ['a binary ACK lying about its count', [`63-1[${ph(0)}]`, Buffer.from([1]), '2["y"]']],
  // binary where text is expected
  ['a binary frame with no binary packet pending', [Buffer.from('2["x"]')]],
  ['an empty binary frame', [Buffer.alloc(0)]],
];

/** Sends Engine.IO messages on a raw WebSocket (Socket.IO text, `4` added; Buffers as binary frames). */
function sendAll(ws: RawWebSocket, messages: ReadonlyArray<string | Buffer>): void {
  for (const m of messages) {
    if (typeof m === 'string') ws.text('4' + m);
    else ws.binary(m);
  }
}

describe('malformed Socket.IO packets over raw WebSocket', () => {
  for (const [name, messages] of VIOLATIONS) {
    test(`closes the session with 1002 ERR_BAD_PACKET on ${name}, and still serves`, async (t) => {
      const target = await startTarget(t);
      const events: unknown[] = [];
      target.io.on('connection', (s) => s.onAny((...args: unknown[]) => events.push(args)));
      const { ws, sid } = await rawSocketIo(t, target.port);
      sendAll(ws, messages);
      assert.deepEqual(await ws.waitClosed(), { code: 1002, reason: 'ERR_BAD_PACKET', frame: true });
      await until(() => !target.io.engine.clients.has(sid));
      await assertRefusals(target, 'ERR_BAD_PACKET', 1, { sid, remoteAddress: '127.0.0.1', transport: 'websocket' });
      // a packet refused whole: no handler saw any part of it (the 1-of-5 lie delivers its first packet)
      assert.ok(events.length <= 1, JSON.stringify(events));
      await assertStillServes(t, target.url);
    });
  }
});

describe('malformed Socket.IO packets over raw polling', () => {
  const rows: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ['10 000 nested arrays', [`42["x",${nested(10_000)}]`]],
    ['a reserved event name', ['42["disconnect"]']],
    ['3 attachments announced, 1 sent (in its own POST), then a text packet', [`453-["x",${ph(0)},${ph(1)},${ph(2)}]`, 'bAQ==', '42["y"]']],
    ['1 attachment announced, 5 binaries sent in one POST', [`451-["x",${ph(0)}]\x1ebAQ==\x1ebAg==\x1ebAw==\x1ebBA==\x1ebBQ==`]],
    ['a binary message with no binary packet pending', ['bAQID']],
    ['an ack id past 2^53', ['429007199254740993["x"]']],
  ];
  for (const [name, posts] of rows) {
    test(`closes the session with ERR_BAD_PACKET on ${name}, and still serves`, async (t) => {
      const target = await startTarget(t);
      const { sid, sessionUrl } = await connectedPollingSession(target.url);
      for (const body of posts) {
        const post = await httpRequest(sessionUrl, { method: 'POST', body });
        // once the session is gone, a later POST of the lie is answered 400 code 1
        assert.ok(post.status === 200 || post.status === 400, String(post.status));
      }
      await until(() => !target.io.engine.clients.has(sid));
      await assertRefusals(target, 'ERR_BAD_PACKET', 1, { sid, remoteAddress: '127.0.0.1', transport: 'polling' });
      await assertStillServes(t, target.url);
    });
  }
});

describe('Socket.IO packets that are odd but harmless', () => {
  test('answers an unknown namespace with CONNECT_ERROR and keeps the session', async (t) => {
    const target = await startTarget(t);
    const { ws, sid } = await rawSocketIo(t, target.port);
    for (const nsp of ['/nope', '/__proto__', '/constructor', '/a\u0000b', '/hasOwnProperty', `/${'é'.repeat(100)}`]) {
      const from = ws.frames.length;
      ws.text(`40${nsp},`);
      const reply = await ws.textFrame((s) => s.startsWith('44'), 3000, from);
      // the answer lists the namespaces the app declared by name (none of the attacker's text but its own name)
      assert.ok(reply.startsWith(`44${nsp},{"message":"Invalid namespace"`), reply);
    }
    assert.ok(target.io.engine.clients.has(sid));
    assert.deepEqual(target.sink.lines, []);
    await assertStillServes(t, target.url);
  });

  test('ignores an ACK for an id never sent, up to 2^53 - 1, and keeps the session', async (t) => {
    const target = await startTarget(t);
    const { ws, sid } = await rawSocketIo(t, target.port);
    ws.text('430[1]');
    ws.text(`43${Number.MAX_SAFE_INTEGER}["x"]`);
    ws.text('421["echo","marker"]');
    assert.equal(await ws.textFrame((s) => s.startsWith('431')), '431["marker"]');
    assert.ok(target.io.engine.clients.has(sid));
    await assertStillServes(t, target.url);
  });

  test('carries the largest safe ack id back unchanged', async (t) => {
    const target = await startTarget(t);
    const { ws } = await rawSocketIo(t, target.port);
    ws.text(`42${Number.MAX_SAFE_INTEGER}["echo",1]`);
    assert.equal(await ws.textFrame((s) => s.startsWith('43')), `43${Number.MAX_SAFE_INTEGER}[1]`);
  });

  test('keeps prototype keys in payloads as plain data (no pollution)', async (t) => {
    const target = await startTarget(t);
    const got = new Promise<unknown>((resolve) => target.io.on('connection', (s) => s.on('obj', resolve)));
    const { ws } = await rawSocketIo(t, target.port);
    ws.text('42["obj",{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}]');
    const obj = (await got) as Record<string, unknown>;
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(obj, '__proto__'), true);
    await assertStillServes(t, target.url);
  });

  test('drops an event named like one of the server side ("error") with a warn line, keeping the session', async (t) => {
    const target = await startTarget(t);
    let errors = 0;
    target.io.on('connection', (s) => s.on('error', () => errors++));
    const { ws, sid } = await rawSocketIo(t, target.port);
    ws.text('42["error","forged"]');
    ws.text('421["echo","marker"]');
    await ws.textFrame((s) => s.startsWith('431'));
    assert.equal(errors, 0);
    assert.equal(warnsWith(target.sink, 'ERR_BAD_PACKET').length, 1);
    assert.ok(target.io.engine.clients.has(sid));
  });

  test('accepts data nested exactly maxDepth (32) deep', async (t) => {
    const target = await startTarget(t);
    const { ws } = await rawSocketIo(t, target.port);
    ws.text(`421["echo",${nested(31)}]`);
    assert.equal(await ws.textFrame((s) => s.startsWith('431')), `431[${nested(31)}]`);
  });
});
