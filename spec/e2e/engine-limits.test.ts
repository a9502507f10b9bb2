// The engine's limits and gates: maxHttpBufferSize on polling and WebSocket, origins, allowRequest on every
// handshake, the sid cookie, and compressed polling answers.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import * as zlib from 'node:zlib';
import { Socket as ClientSocket } from 'engine.io-client';
import WebSocket from 'ws';
import type { EngineOptions } from '../../lib/options';
import { logSink, type LogSink } from '../support/logs';
import { answer, openPolling, openWebSocket, startBoth, startOurs, type Answer, type Target } from '../support/official-engine';
import { rawExchange, upgradeRequest } from '../support/raw-http';
import { once, within } from '../support/wait';

const LIMIT = 1000;

async function start(t: TestContext, opts: EngineOptions = {}): Promise<{ target: Target; sink: LogSink }> {
  const sink = logSink('debug');
  const target = await startOurs(t, { logger: sink.logger, ...opts });
  return { target, sink };
}

function warnLines(sink: LogSink): Array<Record<string, unknown>> {
  return sink.lines.filter((line) => line.level === 40);
}

/** Asserts the one warn line of a refusal and its fields. */
function assertOneWarn(sink: LogSink, code: string, fields: Record<string, unknown>): void {
  const warns = warnLines(sink);
  assert.equal(warns.length, 1, `one warn line, got ${JSON.stringify(warns)}`);
  assert.equal(warns[0].code, code);
  for (const [key, value] of Object.entries(fields)) assert.deepEqual(warns[0][key], value, key);
}

/**
 * A POST whose head goes out at once; `body` is written but the request is only ended when `end` is
 * true, so a server answering early proves it did not wait for the whole body.
 */
function startPost(url: string, headers: http.OutgoingHttpHeaders, body: string, end: boolean): Promise<http.IncomingMessage> {
  return within(
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => req.destroy());
        resolve(res);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        // the server may close the connection while the rest of the body is on its way
        if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
      });
      req.flushHeaders();
      if (body) req.write(body);
      if (end) req.end();
    }),
    5000,
    'the POST answer',
  );
}

/** A round trip on a polling session: the server sends, the next GET gets it. */
async function assertRoundTrip(session: { send(data: string): unknown }, url: string): Promise<void> {
  session.send('still here');
  const got = await answer(url);
  assert.equal(got.status, 200);
  assert.equal(got.body, '4still here');
}

describe('maxHttpBufferSize on polling', () => {
  test('accepts a POST of exactly maxHttpBufferSize bytes', async (t) => {
    const { target, sink } = await start(t, { maxHttpBufferSize: LIMIT });
    const { session, url } = await openPolling(target);
    const got = once<[string]>(session, 'message');
    const post = await answer(url, { method: 'POST', body: '4' + 'x'.repeat(LIMIT - 1) });
    assert.equal(post.status, 200);
    assert.equal(post.body, 'ok');
    assert.equal((await got)[0].length, LIMIT - 1);
    assert.deepEqual(warnLines(sink), []);
  });

  test('answers 413 with Connection: close to a POST one byte over, logs it once, and the session survives', async (t) => {
    const { target, sink } = await start(t, { maxHttpBufferSize: LIMIT });
    const { sid, session, url } = await openPolling(target);
    const post = await answer(url, { method: 'POST', body: '4' + 'x'.repeat(LIMIT) });
    assert.equal(post.status, 413);
    assert.equal(post.body, '');
    assert.equal(session.readyState, 'open');
    assertOneWarn(sink, 'ERR_PAYLOAD_TOO_LARGE', { sid, remoteAddress: '127.0.0.1', size: LIMIT + 1, limit: LIMIT });
    await assertRoundTrip(session, url);
    const message = once<[string]>(session, 'message');
    assert.equal((await answer(url, { method: 'POST', body: '4small' })).body, 'ok');
    assert.deepEqual(await message, ['small']);
  });

  test('sends Connection: close with the 413', async (t) => {
    const { target } = await start(t, { maxHttpBufferSize: LIMIT });
    const { url } = await openPolling(target);
    const res = await startPost(url, { 'Content-Type': 'text/plain;charset=UTF-8', Connection: 'keep-alive' }, '4' + 'x'.repeat(LIMIT), true);
    assert.equal(res.statusCode, 413);
    assert.equal(res.headers.connection, 'close');
  });

  test('refuses a declared Content-Length over the limit before reading the body', async (t) => {
    const { target, sink } = await start(t, { maxHttpBufferSize: LIMIT });
    const { sid, session, url } = await openPolling(target);
    // the head announces LIMIT + 1 bytes and none follow: only a refusal on the declared length answers
    const res = await startPost(url, { 'Content-Length': String(LIMIT + 1) }, '', false);
    assert.equal(res.statusCode, 413);
    assert.equal(res.headers.connection, 'close');
    assertOneWarn(sink, 'ERR_PAYLOAD_TOO_LARGE', { sid, remoteAddress: '127.0.0.1', size: LIMIT + 1, limit: LIMIT });
    await assertRoundTrip(session, url);
  });

  test('refuses a chunked POST while reading it, as soon as it crosses the limit', async (t) => {
    const { target, sink } = await start(t, { maxHttpBufferSize: LIMIT });
    const { sid, session, url } = await openPolling(target);
    // no Content-Length; the request is never ended: only a refusal while reading answers
    const res = await startPost(url, { 'Transfer-Encoding': 'chunked' }, '4' + 'x'.repeat(LIMIT), false);
    assert.equal(res.statusCode, 413);
    assert.equal(res.headers.connection, 'close');
    assertOneWarn(sink, 'ERR_PAYLOAD_TOO_LARGE', { sid, remoteAddress: '127.0.0.1', limit: LIMIT });
    assert.ok((warnLines(sink)[0].size as number) > LIMIT);
    await assertRoundTrip(session, url);
  });

  test('answers 413 like the official server (empty body, session alive)', async (t) => {
    const [official, ours] = await startBoth(t, { maxHttpBufferSize: LIMIT });
    const seen: Array<Omit<Answer, 'bytes'>> = [];
    for (const target of [official, ours]) {
      const { session, url } = await openPolling(target);
      const a = await answer(url, { method: 'POST', body: '4' + 'x'.repeat(LIMIT) });
      seen.push({ status: a.status, headers: a.headers, body: a.body });
      assert.equal(session.readyState, 'open', target.name);
    }
    assert.deepEqual(seen[1], seen[0]);
  });
});

describe('maxHttpBufferSize on WebSocket', () => {
  test('closes with 1009 on a message over the limit and logs it once', async (t) => {
    const { target, sink } = await start(t, { maxHttpBufferSize: LIMIT });
    const connection = once<[{ once(e: 'close', l: (reason: string) => void): void }]>(target.engine, 'connection');
    const { sid, ws } = await openWebSocket(t, target);
    const [session] = await connection;
    const serverClosed = new Promise<string>((resolve) => session.once('close', resolve));
    const closed = once<[number]>(ws, 'close');
    ws.send('4' + 'x'.repeat(LIMIT));
    assert.equal((await closed)[0], 1009);
    assert.equal(await serverClosed, 'transport error');
    assertOneWarn(sink, 'ERR_PAYLOAD_TOO_LARGE', { sid, remoteAddress: '127.0.0.1', size: LIMIT + 1, limit: LIMIT });
  });

  test('accepts a message of exactly the limit', async (t) => {
    const { target, sink } = await start(t, { maxHttpBufferSize: LIMIT });
    const connection = once<[{ on(e: 'message', l: (data: string) => void): void }]>(target.engine, 'connection');
    const { ws } = await openWebSocket(t, target);
    const [session] = await connection;
    const got = new Promise<string>((resolve) => session.on('message', resolve));
    ws.send('4' + 'x'.repeat(LIMIT - 1));
    assert.equal((await within(got)).length, LIMIT - 1);
    assert.deepEqual(warnLines(sink), []);
  });
});

const EVIL = 'http://evil.example';
const FORBIDDEN_ORIGIN = { code: 4, message: 'Origin not allowed' };

describe('origins: the default allows only requests without Origin and same-origin ones', () => {
  test('refuses a cross-origin polling handshake with 403 and one warn line', async (t) => {
    const { target, sink } = await start(t);
    const res = await answer(`${target.base}?EIO=4&transport=polling`, { headers: { Origin: EVIL } });
    assert.equal(res.status, 403);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(res.body), FORBIDDEN_ORIGIN);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.equal(target.clientsCount, 0);
    assertOneWarn(sink, 'ERR_ORIGIN_REFUSED', { origin: EVIL, remoteAddress: '127.0.0.1' });
  });

  test('refuses cross-origin requests with a sid, and the session goes on', async (t) => {
    const { target, sink } = await start(t);
    const { sid, session, url } = await openPolling(target);
    for (const method of ['GET', 'POST']) {
      const res = await answer(url, { method, headers: { Origin: EVIL }, body: method === 'POST' ? '4x' : undefined });
      assert.equal(res.status, 403, method);
      assert.deepEqual(JSON.parse(res.body), FORBIDDEN_ORIGIN);
    }
    const warns = warnLines(sink);
    assert.equal(warns.length, 2);
    for (const warn of warns) assert.deepEqual([warn.code, warn.sid, warn.origin], ['ERR_ORIGIN_REFUSED', sid, EVIL]);
    await assertRoundTrip(session, url);
  });

  test('refuses a cross-origin WebSocket handshake with 403 on the raw socket', async (t) => {
    const { target, sink } = await start(t);
    const raw = await rawExchange(target.port, upgradeRequest('/engine.io/?EIO=4&transport=websocket', { Origin: EVIL }));
    assert.equal(raw, 'HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: 18\r\n\r\nOrigin not allowed');
    assert.equal(target.clientsCount, 0);
    assertOneWarn(sink, 'ERR_ORIGIN_REFUSED', { origin: EVIL, remoteAddress: '127.0.0.1' });
  });

  test('refuses a cross-origin upgrade of a polling session, and polling goes on', async (t) => {
    const { target, sink } = await start(t);
    const { sid, session, url } = await openPolling(target);
    const raw = await rawExchange(target.port, upgradeRequest(`/engine.io/?EIO=4&transport=websocket&sid=${sid}`, { Origin: EVIL }));
    assert.match(raw, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assertOneWarn(sink, 'ERR_ORIGIN_REFUSED', { sid, origin: EVIL });
    assert.equal(session.transport.name, 'polling');
    await assertRoundTrip(session, url);
  });

  test('allows requests without Origin, without CORS headers', async (t) => {
    const { target, sink } = await start(t);
    const res = await answer(`${target.base}?EIO=4&transport=polling`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.vary, undefined);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.deepEqual(warnLines(sink), []);
  });

  test('allows same-origin requests (Origin matching Host) over polling and WebSocket', async (t) => {
    const { target, sink } = await start(t);
    const origin = `http://127.0.0.1:${target.port}`;
    const res = await answer(`${target.base}?EIO=4&transport=polling`, { headers: { Origin: origin } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    assert.equal(res.headers.vary, 'Origin');
    const { sid } = await openWebSocket(t, target, { origin });
    assert.ok(sid);
    assert.deepEqual(warnLines(sink), []);
  });
});

describe("origins: ['http://localhost:*']", () => {
  const ORIGIN = 'http://localhost:5173';
  const CORS = { 'access-control-allow-origin': ORIGIN, 'access-control-allow-credentials': 'true', vary: 'Origin' };

  function corsOf(a: Answer): Record<string, string | undefined> {
    return {
      'access-control-allow-origin': a.headers['access-control-allow-origin'],
      'access-control-allow-credentials': a.headers['access-control-allow-credentials'],
      vary: a.headers.vary,
    };
  }

  test('allows a listed origin on every polling answer, errors included, with CORS headers', async (t) => {
    const { target, sink } = await start(t, { origins: ['http://localhost:*'] });
    const headers = { Origin: ORIGIN };
    const hs = await answer(`${target.base}?EIO=4&transport=polling`, { headers });
    assert.equal(hs.status, 200);
    assert.deepEqual(corsOf(hs), CORS);
    const sid = (JSON.parse(hs.body.slice(1)) as { sid: string }).sid;
    const url = `${target.base}?EIO=4&transport=polling&sid=${sid}`;
    const post = await answer(url, { method: 'POST', headers, body: '4hi' });
    assert.equal(post.body, 'ok');
    assert.deepEqual(corsOf(post), CORS);
    const unknown = await answer(`${target.base}?EIO=4&transport=polling&sid=nope`, { headers });
    assert.equal(unknown.status, 400);
    assert.deepEqual(corsOf(unknown), CORS);
    assert.equal(warnLines(sink).filter((l) => l.code === 'ERR_ORIGIN_REFUSED').length, 0);
  });

  test('answers a preflight with 204, the methods, and the asked headers mirrored', async (t) => {
    const { target } = await start(t, { origins: ['http://localhost:*'] });
    const res = await answer(`${target.base}?EIO=4&transport=polling`, {
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-custom' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.body, '');
    assert.deepEqual(res.headers, {
      'access-control-allow-origin': ORIGIN,
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET,POST,OPTIONS',
      'access-control-allow-headers': 'content-type,x-custom',
      vary: 'Origin, Access-Control-Request-Headers',
      'content-length': '0',
    });
  });

  test('allows a listed origin over WebSocket and still refuses others', async (t) => {
    const { target, sink } = await start(t, { origins: ['http://localhost:*'] });
    const { sid } = await openWebSocket(t, target, { origin: ORIGIN });
    assert.ok(sid);
    const refused = await answer(`${target.base}?EIO=4&transport=polling`, { headers: { Origin: 'https://localhost:5173' } });
    assert.equal(refused.status, 403);
    assertOneWarn(sink, 'ERR_ORIGIN_REFUSED', { origin: 'https://localhost:5173' });
  });
});

describe("origins: '*'", () => {
  test('allows any origin, reflecting it', async (t) => {
    const { target, sink } = await start(t, { origins: '*' });
    const origin = 'https://anything.example';
    const res = await answer(`${target.base}?EIO=4&transport=polling`, { headers: { Origin: origin } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['access-control-allow-origin'], origin);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    const { sid } = await openWebSocket(t, target, { origin });
    assert.ok(sid);
    assert.deepEqual(warnLines(sink), []);
  });
});

describe('allowRequest', () => {
  test('runs on a WebSocket-first handshake: a refusal refuses the upgrade', async (t) => {
    const seen: string[] = [];
    const { target } = await start(t, {
      allowRequest: (req, cb) => {
        seen.push(req.headers.upgrade ?? 'none');
        cb('nope', false);
      },
    });
    const ws = new WebSocket(`ws://127.0.0.1:${target.port}/engine.io/?EIO=4&transport=websocket`);
    ws.on('error', () => {}); // the refusal is asserted through 'unexpected-response'
    t.after(() => ws.terminate());
    const [, res] = await once<[http.ClientRequest, http.IncomingMessage]>(ws, 'unexpected-response');
    assert.equal(res.statusCode, 400);
    res.resume();
    assert.deepEqual(seen, ['websocket']);
    assert.equal(target.clientsCount, 0);
  });

  test('runs once per session: not again for requests with a sid or the upgrade', async (t) => {
    let calls = 0;
    const { target } = await start(t, {
      allowRequest: (_req, cb) => {
        calls++;
        cb(null, true);
      },
    });
    const client = new ClientSocket(target.url, { path: '/engine.io/', transports: ['polling', 'websocket'] });
    t.after(() => client.close());
    await once(client, 'upgrade');
    assert.equal(calls, 1);
    await openWebSocket(t, target);
    assert.equal(calls, 2);
  });
});

describe('cookie', () => {
  test('cookie: true sets `io=<sid>; Path=/; HttpOnly; SameSite=Lax` on the polling handshake only', async (t) => {
    const [official, ours] = await startBoth(t, { cookie: true });
    const seen: unknown[] = [];
    for (const target of [official, ours]) {
      const hs = await answer(`${target.base}?EIO=4&transport=polling`);
      const sid = (JSON.parse(hs.body.slice(1)) as { sid: string }).sid;
      const url = `${target.base}?EIO=4&transport=polling&sid=${sid}`;
      const post = await answer(url, { method: 'POST', body: '4x' });
      const ws = new WebSocket(`ws://127.0.0.1:${target.port}/engine.io/?EIO=4&transport=websocket`);
      t.after(() => ws.terminate());
      const [upgrade] = await once<[http.IncomingMessage]>(ws, 'upgrade');
      seen.push({
        handshake: hs.headers['set-cookie']?.replace(sid, 'SID'),
        post: post.headers['set-cookie'],
        websocket: upgrade.headers['set-cookie'],
      });
    }
    assert.deepEqual(seen[0], { handshake: 'io=SID; Path=/; HttpOnly; SameSite=Lax', post: undefined, websocket: undefined });
    assert.deepEqual(seen[1], seen[0]);
  });

  test('takes cookie options like the official server', async (t) => {
    const [official, ours] = await startBoth(t, { cookie: { name: 'my-cookie', maxAge: 86400, sameSite: 'strict' } });
    const seen: Array<string | undefined> = [];
    for (const target of [official, ours]) {
      const hs = await answer(`${target.base}?EIO=4&transport=polling`);
      const sid = (JSON.parse(hs.body.slice(1)) as { sid: string }).sid;
      seen.push(hs.headers['set-cookie']?.replace(sid, 'SID'));
    }
    assert.equal(seen[0], 'my-cookie=SID; Max-Age=86400; Path=/; HttpOnly; SameSite=Strict');
    assert.equal(seen[1], seen[0]);
  });
});

describe('httpCompression', () => {
  function decode(a: Answer): string {
    const encoding = a.headers['content-encoding'];
    if (encoding === 'gzip') return zlib.gunzipSync(a.bytes).toString('utf8');
    if (encoding === 'deflate') return zlib.inflateSync(a.bytes).toString('utf8');
    return a.body;
  }

  test('gzips a large GET answer when the client accepts gzip, and it decodes to the payload', async (t) => {
    const { target } = await start(t);
    const { session, url } = await openPolling(target);
    const big = 'x'.repeat(5000);
    session.send(big);
    const res = await answer(url, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers['content-length'], undefined);
    assert.ok(res.bytes.length < 1000);
    assert.equal(decode(res), `4${big}`);
  });

  const encodings = ['gzip', 'deflate', 'gzip, deflate, br', 'br', 'identity', '*', 'gzip;q=0, deflate', ''];
  for (const acceptEncoding of encodings) {
    test(`answers Accept-Encoding ${JSON.stringify(acceptEncoding)} like the official server`, async (t) => {
      const [official, ours] = await startBoth(t);
      const seen: unknown[] = [];
      for (const target of [official, ours]) {
        const { session, url } = await openPolling(target);
        session.send('é'.repeat(3000));
        session.send('small');
        const res = await answer(url, { headers: { 'Accept-Encoding': acceptEncoding } });
        seen.push({ status: res.status, headers: res.headers, payload: decode(res) });
      }
      assert.deepEqual(seen[1], seen[0]);
    });
  }

  test('leaves answers under the threshold, and all answers with httpCompression: false, uncompressed', async (t) => {
    for (const [opts, size] of [
      [{}, 500],
      [{ httpCompression: false }, 5000],
      [{ httpCompression: { threshold: 10000 } }, 5000],
    ] as const) {
      const { target } = await start(t, opts);
      const { session, url } = await openPolling(target);
      session.send('y'.repeat(size));
      const res = await answer(url, { headers: { 'Accept-Encoding': 'gzip' } });
      assert.equal(res.headers['content-encoding'], undefined, JSON.stringify(opts));
      assert.equal(res.headers['content-length'], String(size + 1));
      assert.equal(res.body, `4${'y'.repeat(size)}`);
    }
  });
});
