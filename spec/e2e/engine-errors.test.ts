// Engine.IO refusals and polling edge cases: each request goes to the official engine.io and to ours, and
// the answers (status, headers but Date/Connection/Keep-Alive/X-Powered-By, body bytes) must be identical.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import WebSocket from 'ws';
import type { EngineOptions } from '../../lib/options';
import { answer, heldGet, openPolling, openWebSocket, startBoth, type Answer, type AnySession, type Target } from '../support/official-engine';
import { rawExchange, upgradeRequest } from '../support/raw-http';
import { once } from '../support/wait';

/**
 * Runs `scenario` against the official server, then against ours, and asserts the two transcripts are
 * equal. Returns the official transcript, so the test can also pin it to PROTOCOL.md.
 */
async function sameOnBoth<T>(t: TestContext, opts: EngineOptions, scenario: (target: Target) => Promise<T>): Promise<T> {
  const [official, ours] = await startBoth(t, opts);
  const expected = await scenario(official);
  assert.deepEqual(await scenario(ours), expected);
  return expected;
}

/** The official polling error answer (PROTOCOL.md §1.9): JSON, chunked, no Content-Length. */
function engineError(code: number, message: string): Omit<Answer, 'bytes'> {
  return {
    status: code === 4 ? 403 : 400,
    headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    body: JSON.stringify({ code, message }),
  };
}

function withoutBytes(a: Answer): Omit<Answer, 'bytes'> {
  return { status: a.status, headers: a.headers, body: a.body };
}

const POLL_HEADERS = { 'content-type': 'text/plain; charset=UTF-8', 'cache-control': 'no-store' };
const POST_OK = { status: 200, headers: { 'content-type': 'text/html', 'content-length': '2', 'cache-control': 'no-store' }, body: 'ok' };
const CLIENT_POST_HEADERS = { 'Content-Type': 'text/plain;charset=UTF-8' };

function pollAnswer(body: string): Omit<Answer, 'bytes'> {
  return { status: 200, headers: { ...POLL_HEADERS, 'content-length': String(Buffer.byteLength(body)) }, body };
}

describe('engine refusals, byte for byte as the official server', () => {
  const rows: Array<[name: string, query: string, method: string, code: number, message: string]> = [
    ['an unknown transport', '?EIO=4&transport=foo', 'GET', 0, 'Transport unknown'],
    ['a missing transport', '?EIO=4', 'GET', 0, 'Transport unknown'],
    ['webtransport, not enabled', '?EIO=4&transport=webtransport', 'GET', 0, 'Transport unknown'],
    ['an unknown sid (GET)', '?EIO=4&transport=polling&sid=nope', 'GET', 1, 'Session ID unknown'],
    ['an unknown sid (POST)', '?EIO=4&transport=polling&sid=nope', 'POST', 1, 'Session ID unknown'],
    ['an unknown sid (PUT)', '?EIO=4&transport=polling&sid=nope', 'PUT', 1, 'Session ID unknown'],
    ['an unknown sid (DELETE)', '?EIO=4&transport=polling&sid=nope', 'DELETE', 1, 'Session ID unknown'],
    ['an unknown sid (OPTIONS)', '?EIO=4&transport=polling&sid=nope', 'OPTIONS', 1, 'Session ID unknown'],
    ['a malformed sid', '?EIO=4&transport=polling&sid=%00%2F..', 'GET', 1, 'Session ID unknown'],
    ['a POST handshake', '?EIO=4&transport=polling', 'POST', 2, 'Bad handshake method'],
    ['a PUT handshake', '?EIO=4&transport=polling', 'PUT', 2, 'Bad handshake method'],
    ['an OPTIONS handshake without CORS', '?EIO=4&transport=polling', 'OPTIONS', 2, 'Bad handshake method'],
    ['transport=websocket without Upgrade', '?EIO=4&transport=websocket', 'GET', 3, 'Bad request'],
    ['EIO=3 without allowEIO3', '?EIO=3&transport=polling', 'GET', 5, 'Unsupported protocol version'],
    ['a missing EIO', '?transport=polling', 'GET', 5, 'Unsupported protocol version'],
    ['EIO=5', '?EIO=5&transport=polling', 'GET', 5, 'Unsupported protocol version'],
  ];
  for (const [name, query, method, code, message] of rows) {
    test(`answers ${name} with code ${code}`, async (t) => {
      const official = await sameOnBoth(t, {}, async (target) =>
        withoutBytes(await answer(`${target.base}${query}`, { method, body: method === 'POST' ? '4x' : undefined })),
      );
      assert.deepEqual(official, engineError(code, message));
    });
  }

  test('treats an empty sid as none: a GET handshakes, a POST is a bad handshake method', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const get = await answer(`${target.base}?EIO=4&transport=polling&sid=`);
      const post = await answer(`${target.base}?EIO=4&transport=polling&sid=`, { method: 'POST', body: '4x' });
      return { get: [get.status, get.body.slice(0, 8)], post: withoutBytes(post) };
    });
    assert.deepEqual(official, { get: [200, '0{"sid":'], post: engineError(2, 'Bad handshake method') });
  });

  test('answers a polling request with the sid of a WebSocket session with code 3 (transport mismatch)', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { sid } = await openWebSocket(t, target);
      const url = `${target.base}?EIO=4&transport=polling&sid=${sid}`;
      return { get: withoutBytes(await answer(url)), post: withoutBytes(await answer(url, { method: 'POST', body: '4x' })) };
    });
    assert.deepEqual(official, { get: engineError(3, 'Bad request'), post: engineError(3, 'Bad request') });
  });

  test('answers a request whose EIO differs from its session with code 3 (protocol mismatch)', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { sid, session } = await openPolling(target);
      const post = await answer(`${target.base}?EIO=3&transport=polling&sid=${sid}`, { method: 'POST', body: '4x' });
      const get = await answer(`${target.base}?transport=polling&sid=${sid}`);
      return { post: withoutBytes(post), get: withoutBytes(get), open: session.readyState };
    });
    assert.deepEqual(official, { post: engineError(3, 'Bad request'), get: engineError(3, 'Bad request'), open: 'open' });
  });

  test('answers 403 code 4 with the message allowRequest gave', async (t) => {
    const official = await sameOnBoth(t, { allowRequest: (_req, cb) => cb('custom refusal text', false) }, async (target) =>
      withoutBytes(await answer(`${target.base}?EIO=4&transport=polling`)),
    );
    assert.deepEqual(official, engineError(4, 'custom refusal text'));
  });

  test('answers 403 code 4 "Forbidden" when allowRequest gives no message', async (t) => {
    for (const message of [null, undefined, '']) {
      const official = await sameOnBoth(t, { allowRequest: (_req, cb) => cb(message, false) }, async (target) =>
        withoutBytes(await answer(`${target.base}?EIO=4&transport=polling`)),
      );
      assert.deepEqual(official, engineError(4, 'Forbidden'), `message ${JSON.stringify(message)}`);
    }
  });

  test('checks the transport before the sid, and the sid before the method and EIO', async (t) => {
    const official = await sameOnBoth(t, { allowRequest: (_req, cb) => cb('no', false) }, async (target) => ({
      transportFirst: withoutBytes(await answer(`${target.base}?transport=foo&sid=nope`, { method: 'PUT' })),
      sidFirst: withoutBytes(await answer(`${target.base}?transport=polling&sid=nope`, { method: 'PUT' })),
      methodBeforeAllowRequest: withoutBytes(await answer(`${target.base}?transport=polling`, { method: 'PUT' })),
      allowRequestBeforeEio: withoutBytes(await answer(`${target.base}?EIO=3&transport=polling`)),
    }));
    assert.deepEqual(official, {
      transportFirst: engineError(0, 'Transport unknown'),
      sidFirst: engineError(1, 'Session ID unknown'),
      methodBeforeAllowRequest: engineError(2, 'Bad handshake method'),
      allowRequestBeforeEio: engineError(4, 'no'),
    });
  });
});

describe('engine upgrade refusals, byte for byte as the official server', () => {
  const refusal = (message: string): string =>
    'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\n' +
    `Content-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`;

  test('refuses an upgrade for an unknown sid on the raw socket', async (t) => {
    const official = await sameOnBoth(t, {}, (target) =>
      rawExchange(target.port, upgradeRequest('/engine.io/?EIO=4&transport=websocket&sid=nope')),
    );
    assert.equal(official, 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: 18\r\n\r\nSession ID unknown');
  });

  test('refuses an upgrade for an unknown transport', async (t) => {
    const official = await sameOnBoth(t, {}, (target) => rawExchange(target.port, upgradeRequest('/engine.io/?EIO=4&transport=foo')));
    assert.equal(official, refusal('Transport unknown'));
  });

  test('refuses an upgrade whose EIO differs from its session', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { sid } = await openPolling(target);
      return rawExchange(target.port, upgradeRequest(`/engine.io/?EIO=3&transport=websocket&sid=${sid}`));
    });
    assert.equal(official, refusal('Bad request'));
  });

  test('refuses a WebSocket handshake refused by allowRequest with status 400 and its message', async (t) => {
    const official = await sameOnBoth(t, { allowRequest: (_req, cb) => cb('custom refusal text', false) }, (target) =>
      rawExchange(target.port, upgradeRequest('/engine.io/?EIO=4&transport=websocket')),
    );
    assert.equal(official, refusal('custom refusal text'));
  });

  // Deliberate difference: the official server sends the 101 first and then writes this HTTP answer onto the
  // upgraded socket (PROTOCOL.md §1.9 quirk); ours refuses before the 101, which any client can read.
  test('refuses a WebSocket handshake with an unsupported EIO before the 101', async (t) => {
    const [, ours] = await startBoth(t);
    assert.equal(await rawExchange(ours.port, upgradeRequest('/engine.io/?EIO=3&transport=websocket')), refusal('Unsupported protocol version'));
  });
});

describe('engine polling answers and edge cases, as the official server', () => {
  test('answers the handshake with the official headers and fields, in order', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const a = await answer(`${target.base}?EIO=4&transport=polling&t=eezuat4x`);
      const open = JSON.parse(a.body.slice(1)) as Record<string, unknown>;
      const sid = open.sid as string;
      assert.match(sid, /^[A-Za-z0-9_-]{20,}$/);
      // sids are opaque and ours are one character longer: compare the rest byte for byte
      const headers = { ...a.headers, 'content-length': String(Number(a.headers['content-length']) - sid.length) };
      return { status: a.status, headers, body: a.body.replace(sid, 'SID') };
    });
    assert.deepEqual(official, {
      status: 200,
      headers: { ...POLL_HEADERS, 'content-length': String(118 - 20) },
      body: '0{"sid":"SID","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
    });
  });

  test('answers a POST with 200 text/html "ok" and delivers its packets in order', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { session, url } = await openPolling(target);
      const messages: unknown[] = [];
      // a message packet without data: the official server emits undefined, ours '' (data is always a string or Buffer)
      session.on('message', (m: unknown) => messages.push(m ?? ''));
      const post = await answer(url, { method: 'POST', headers: CLIENT_POST_HEADERS, body: '4hello\x1e4\x1ebAQIDBA==\x1e4wörld' });
      const noContentType = await answer(url, { method: 'POST', body: '4bye' });
      return { post: withoutBytes(post), noContentType: withoutBytes(noContentType), messages };
    });
    assert.deepEqual(official, { post: POST_OK, noContentType: POST_OK, messages: ['hello', '', Buffer.from([1, 2, 3, 4]), 'wörld', 'bye'] });
  });

  test('answers a second GET with an empty 400, the held GET with "1", and closes the session', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { session, url } = await openPolling(target);
      const closed = once<[string]>(session, 'close');
      const first = await heldGet(session, url);
      const second = await answer(url);
      return { first: withoutBytes(await first.answered), second: withoutBytes(second), reason: (await closed)[0], after: withoutBytes(await answer(url)) };
    });
    assert.equal(official.second.status, 400);
    assert.equal(official.second.body, '');
    assert.deepEqual(official.first, pollAnswer('1'));
    assert.equal(official.reason, 'transport error');
    assert.deepEqual(official.after, engineError(1, 'Session ID unknown'));
  });

  test('answers a POST with Content-Type application/octet-stream with an empty 400 and closes the session', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { session, url } = await openPolling(target);
      const closed = once<[string]>(session, 'close');
      const post = await answer(url, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: '4x' });
      return { post: withoutBytes(post), reason: (await closed)[0], after: withoutBytes(await answer(url)) };
    });
    assert.equal(official.post.status, 400);
    assert.equal(official.post.body, '');
    assert.equal(official.reason, 'transport error');
    assert.deepEqual(official.after, engineError(1, 'Session ID unknown'));
  });

  test('releases the held GET with "6" when the client POSTs a close packet', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { session, url } = await openPolling(target);
      const closed = once<[string]>(session, 'close');
      const get = await heldGet(session, url);
      const post = await answer(url, { method: 'POST', headers: CLIENT_POST_HEADERS, body: '1' });
      return { post: withoutBytes(post), get: withoutBytes(await get.answered), reason: (await closed)[0], after: withoutBytes(await answer(url)) };
    });
    assert.deepEqual(official, { post: POST_OK, get: pollAnswer('6'), reason: 'transport close', after: engineError(1, 'Session ID unknown') });
  });

  test('answers "1" to the held GET when the server closes the session', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { session, url } = await openPolling(target);
      const closed = once<[string]>(session, 'close');
      const get = await heldGet(session, url);
      session.close();
      return { get: withoutBytes(await get.answered), reason: (await closed)[0], after: withoutBytes(await answer(url)) };
    });
    assert.deepEqual(official, { get: pollAnswer('1'), reason: 'forced close', after: engineError(1, 'Session ID unknown') });
  });

  test('answers the next GET with "6\\x1e1" when the server closed the session while no GET was held', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { session, url } = await openPolling(target);
      const closed = once<[string]>(session, 'close');
      session.close();
      const get = await answer(url);
      return { get: withoutBytes(get), reason: (await closed)[0], after: withoutBytes(await answer(url)) };
    });
    assert.deepEqual(official, { get: pollAnswer('6\x1e1'), reason: 'forced close', after: engineError(1, 'Session ID unknown') });
  });

  test('sends what was queued before a server close first, then the close on the next GET', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { session, url } = await openPolling(target);
      session.send('last words');
      session.close();
      return { first: withoutBytes(await answer(url)), second: withoutBytes(await answer(url)) };
    });
    assert.deepEqual(official, { first: pollAnswer('4last words'), second: pollAnswer('6\x1e1') });
  });

  test('closes the session with "parse error" on an undecodable packet, after the packets before it', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { session, url } = await openPolling(target);
      const messages: unknown[] = [];
      session.on('message', (m: unknown) => messages.push(m));
      const closed = once<[string]>(session, 'close');
      const post = await answer(url, { method: 'POST', headers: CLIENT_POST_HEADERS, body: '4before\x1e9\x1e4after' });
      return { post: withoutBytes(post), messages, reason: (await closed)[0], after: withoutBytes(await answer(url)) };
    });
    assert.deepEqual(official, { post: POST_OK, messages: ['before'], reason: 'parse error', after: engineError(1, 'Session ID unknown') });
  });

  test('closes the session with "parse error" on an empty POST body', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { session, url } = await openPolling(target);
      const closed = once<[string]>(session, 'close');
      const post = await answer(url, { method: 'POST', headers: CLIENT_POST_HEADERS, body: '' });
      return { post: withoutBytes(post), reason: (await closed)[0] };
    });
    assert.deepEqual(official, { post: POST_OK, reason: 'parse error' });
  });

  test('closes the session when a v4 client pings (invalid heartbeat direction)', async (t) => {
    const official = await sameOnBoth(t, {}, async (target) => {
      const { session, url } = await openPolling(target);
      const closed = once<[string]>(session, 'close');
      const post = await answer(url, { method: 'POST', headers: CLIENT_POST_HEADERS, body: '2' });
      return { post: withoutBytes(post), reason: (await closed)[0], after: withoutBytes(await answer(url)) };
    });
    assert.deepEqual(official, { post: POST_OK, reason: 'transport error', after: engineError(1, 'Session ID unknown') });
  });

  // Deliberate difference: the official server closes with a bare close frame (1005); ours says why,
  // with the code of the refusal: 1002 and the reason ERR_BAD_PACKET (docs/errors.md).
  test('closes the session with "parse error" on an undecodable WebSocket frame (ours: 1002 ERR_BAD_PACKET)', async (t) => {
    const [official, ours] = await startBoth(t);
    for (const [target, expected] of [
      [official, { reason: 'parse error', wsCode: 1005, wsReason: '' }],
      [ours, { reason: 'parse error', wsCode: 1002, wsReason: 'ERR_BAD_PACKET' }],
    ] as const) {
      const connection = once<[AnySession]>(target.engine, 'connection');
      const ws = new WebSocket(`ws://127.0.0.1:${target.port}/engine.io/?EIO=4&transport=websocket`);
      t.after(() => ws.terminate());
      const [session] = await connection;
      const closed = once<[string]>(session, 'close');
      const wsClosed = once<[number, Buffer]>(ws, 'close');
      await once(ws, 'open');
      ws.send('9');
      const [code, reason] = await wsClosed;
      assert.deepEqual({ reason: (await closed)[0], wsCode: code, wsReason: reason.toString() }, expected);
    }
  });

  // Deliberate difference: the official server answers other methods on a live sid with a bare 500 (an
  // "internal error" for a client mistake); ours answers 400 {"code":3,"message":"Bad request"}, never a 500.
  // Both leave the session alone.
  test('answers PUT and DELETE on a live sid with 400 code 3 and keeps the session (official: 500)', async (t) => {
    const [official, ours] = await startBoth(t);
    for (const [target, expected] of [
      [official, { status: 500, headers: { 'transfer-encoding': 'chunked' }, body: '' }],
      [ours, engineError(3, 'Bad request')],
    ] as const) {
      const { session, url } = await openPolling(target);
      for (const method of ['PUT', 'DELETE']) {
        assert.deepEqual(withoutBytes(await answer(url, { method })), expected, `${target.name} ${method}`);
      }
      session.send('still open');
      assert.deepEqual(withoutBytes(await answer(url)), pollAnswer('4still open'), target.name);
    }
  });
});
