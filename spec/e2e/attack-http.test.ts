// Attacks over raw HTTP: oversize and lying-length bodies, compression bombs, header floods, slowloris
// (slow headers, slow bodies), JSONP callback injection, over-long query strings, request smuggling shapes.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import {
  assertNoCrash,
  assertRefusals,
  assertStillServes,
  connectedPollingSession,
  httpRequest,
  pollingSession,
  rawHttp,
  rawSocketIo,
  rawUpgrade,
  requestHead,
  startTarget,
  warnsWith,
  watchCrashes,
  type Target,
} from '../support/attack';
import { until } from '../support/io';
import { once, within } from '../support/wait';

watchCrashes();
after(assertNoCrash);

const LIMIT = 10_000;

/** The path (with query) of a session's polling requests. */
function pathOf(sessionUrl: string): string {
  return sessionUrl.slice(sessionUrl.indexOf('/socket.io/'));
}

/** An event the session's socket receives next, and a POST that sends it: proves the session still works. */
async function assertSessionWorks(target: Target, sessionUrl: string): Promise<void> {
  const socket = [...target.io.of('/').sockets.values()].at(-1);
  assert.ok(socket, 'a connected socket');
  const got = once<[string]>(socket, 'alive');
  assert.equal((await httpRequest(sessionUrl, { method: 'POST', body: '42["alive","yes"]' })).body, 'ok');
  assert.deepEqual(await got, ['yes']);
}

describe('oversize and lying-length POST bodies', () => {
  test('answers 413 to a body over maxHttpBufferSize, logs size and limit, and the session survives', async (t) => {
    const target = await startTarget(t, { maxHttpBufferSize: LIMIT });
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const res = await httpRequest(sessionUrl, { method: 'POST', body: '4' + 'x'.repeat(LIMIT) });
    assert.equal(res.status, 413);
    await assertRefusals(target, 'ERR_PAYLOAD_TOO_LARGE', 1, { sid, remoteAddress: '127.0.0.1', size: LIMIT + 1, limit: LIMIT });
    await assertSessionWorks(target, sessionUrl);
    await assertStillServes(t, target.url);
  });

  test('answers 413 to a declared Content-Length of 2^53 before reading a byte', async (t) => {
    const target = await startTarget(t, { maxHttpBufferSize: LIMIT });
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const res = await rawHttp(target.port, requestHead('POST', pathOf(sessionUrl), { 'Content-Length': '9007199254740992' }), '42');
    assert.equal(res.status, 413);
    assert.equal(res.headers.connection, 'close');
    await assertRefusals(target, 'ERR_PAYLOAD_TOO_LARGE', 1, { sid, size: 9007199254740992, limit: LIMIT });
    await assertSessionWorks(target, sessionUrl);
    await assertStillServes(t, target.url);
  });

  test('answers 408 when Content-Length promises more than ever comes (bodyTimeout), and the session survives', async (t) => {
    const target = await startTarget(t, { bodyTimeout: 300 });
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const res = await rawHttp(target.port, requestHead('POST', pathOf(sessionUrl), { 'Content-Length': 500 }), '42["x"]');
    assert.equal(res.status, 408);
    await assertRefusals(target, 'ERR_BODY_TIMEOUT', 1, { sid, remoteAddress: '127.0.0.1', limit: 300 });
    await assertSessionWorks(target, sessionUrl);
    await assertStillServes(t, target.url);
  });

  test('reads only Content-Length bytes when the body is longer: the rest is a bad next request (400), the session survives', async (t) => {
    const target = await startTarget(t);
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    let smuggled = 0;
    [...target.io.of('/').sockets.values()][0].on('smuggled', () => smuggled++);
    const socket = net.connect(target.port, '127.0.0.1');
    t.after(() => socket.destroy());
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    const closed = once(socket, 'close');
    // `3` (a pong) is the declared body; the rest is parsed as another request and refused by Node
    socket.write(requestHead('POST', pathOf(sessionUrl), { 'Content-Length': 1, 'Content-Type': 'text/plain' }) + '3\x1e42["smuggled"]');
    await closed;
    const text = Buffer.concat(chunks).toString('latin1');
    // Node's parser refuses the rest (and may do so before the first answer is out)
    assert.match(text, /HTTP\/1\.1 400 Bad Request\r\n/);
    assert.ok(target.io.engine.clients.has(sid));
    await assertSessionWorks(target, sessionUrl);
    assert.equal(smuggled, 0);
    await assertStillServes(t, target.url);
  });

  const SMUGGLING: ReadonlyArray<readonly [string, Record<string, string | number>, string]> = [
    ['both Content-Length and Transfer-Encoding', { 'Content-Length': 4, 'Transfer-Encoding': 'chunked' }, '0\r\n\r\n'],
    ['two different Content-Lengths', { 'Content-Length': '2\r\nContent-Length: 4' }, '42xx'],
    ['a negative Content-Length', { 'Content-Length': -1 }, '3'],
    ['a non-numeric Content-Length', { 'Content-Length': 'abc' }, '3'],
    ['an obfuscated Transfer-Encoding', { 'Transfer-Encoding': 'chunked, identity' }, '1\r\n3\r\n0\r\n\r\n'],
  ];
  for (const [name, headers, body] of SMUGGLING) {
    test(`refuses ${name} with 400 (Node's parser) and the session is unharmed`, async (t) => {
      const target = await startTarget(t);
      const { sid, sessionUrl } = await connectedPollingSession(target.url);
      const res = await rawHttp(target.port, requestHead('POST', pathOf(sessionUrl), headers), body);
      assert.equal(res.status, 400);
      assert.ok(target.io.engine.clients.has(sid));
      await assertSessionWorks(target, sessionUrl);
      await assertStillServes(t, target.url);
    });
  }
});

describe('compression bombs on POST', () => {
  const BOMB = Buffer.alloc(20 * 1024 * 1024, 0x33); // 20 MiB of '3' (pongs, were it split)
  const encodings: ReadonlyArray<readonly [string, (b: Buffer) => Buffer]> = [
    ['gzip', (b) => zlib.gzipSync(b, { level: 9 })],
    ['deflate', (b) => zlib.deflateSync(b, { level: 9 })],
    ['br', (b) => zlib.brotliCompressSync(b)],
  ];
  const BOMB_LIMIT = 100_000;
  for (const [encoding, compress] of encodings) {
    test(`accepts a ${encoding} body and delivers what it inflates to`, async (t) => {
      const target = await startTarget(t);
      const { sessionUrl } = await connectedPollingSession(target.url);
      const socket = [...target.io.of('/').sockets.values()][0];
      const got = once<[string]>(socket, 'zipped');
      const body = compress(Buffer.from('42["zipped","' + 'z'.repeat(5000) + '"]\x1e3'));
      const res = await rawHttp(target.port, requestHead('POST', pathOf(sessionUrl), { 'Content-Encoding': encoding, 'Content-Length': body.length }), body);
      assert.equal(res.body, 'ok');
      assert.equal((await got)[0].length, 5000);
      assert.deepEqual(target.sink.lines, []);
    });

    test(`answers 413 while inflating a ${encoding} bomb (small compressed, 20 MiB inflated); the session survives`, async (t) => {
      const LIMIT = BOMB_LIMIT;
      const target = await startTarget(t, { maxHttpBufferSize: LIMIT });
      const { sid, sessionUrl } = await connectedPollingSession(target.url);
      const body = compress(BOMB);
      assert.ok(body.length < LIMIT, `${body.length} compressed bytes`);
      const res = await rawHttp(target.port, requestHead('POST', pathOf(sessionUrl), { 'Content-Encoding': encoding, 'Content-Length': body.length }), body);
      assert.equal(res.status, 413);
      const [line] = await assertRefusals(target, 'ERR_PAYLOAD_TOO_LARGE', 1, { sid, remoteAddress: '127.0.0.1', limit: LIMIT });
      // stopped at the limit: far less than the 20 MiB were inflated
      assert.ok((line.size as number) > LIMIT && (line.size as number) < 1024 * 1024, `inflated ${String(line.size)}`);
      await assertSessionWorks(target, sessionUrl);
      await assertStillServes(t, target.url);
    });
  }

  test('answers 413 to an endless stream of empty deflate blocks (nothing inflates, the wire bytes count)', async (t) => {
    const target = await startTarget(t, { maxHttpBufferSize: LIMIT });
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    // zlib header, then stored blocks of length 0 (00 00 00 ff ff), never a final one
    const empty = Buffer.concat([Buffer.from([0x78, 0x9c]), Buffer.concat(Array(4000).fill(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff])))]);
    const res = await rawHttp(target.port, requestHead('POST', pathOf(sessionUrl), { 'Content-Encoding': 'deflate', 'Transfer-Encoding': 'chunked' }), `${empty.length.toString(16)}\r\n${empty.toString('latin1')}\r\n`);
    assert.equal(res.status, 413);
    await assertRefusals(target, 'ERR_PAYLOAD_TOO_LARGE', 1, { sid, limit: LIMIT, size: (v: unknown) => (v as number) > LIMIT });
    await assertSessionWorks(target, sessionUrl);
    await assertStillServes(t, target.url);
  });

  test('closes the session with ERR_BAD_PACKET on a corrupt gzip body', async (t) => {
    const target = await startTarget(t);
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const body = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef]);
    const res = await rawHttp(target.port, requestHead('POST', pathOf(sessionUrl), { 'Content-Encoding': 'gzip', 'Content-Length': body.length }), body);
    assert.equal(res.status, 400);
    await until(() => !target.io.engine.clients.has(sid));
    await assertRefusals(target, 'ERR_BAD_PACKET', 1, { sid });
    await assertStillServes(t, target.url);
  });

  test('answers 415 to an unknown Content-Encoding and keeps the session', async (t) => {
    const target = await startTarget(t);
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const res = await httpRequest(sessionUrl, { method: 'POST', headers: { 'Content-Encoding': 'zstd' }, body: '3' });
    assert.equal(res.status, 415);
    assert.ok(target.io.engine.clients.has(sid));
    await assertSessionWorks(target, sessionUrl);
    await assertStillServes(t, target.url);
  });
});

describe('header floods (Node limits)', () => {
  const many = (n: number): Record<string, string> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-h${i}`, 'v']));

  test('answers 431 to headers over Node\'s 16 KiB, on the handshake and on a live sid', async (t) => {
    const target = await startTarget(t);
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const handshake = await rawHttp(target.port, requestHead('GET', '/socket.io/?EIO=4&transport=polling', many(3000)));
    assert.equal(handshake.status, 431);
    const live = await rawHttp(target.port, requestHead('GET', pathOf(sessionUrl), { 'x-big': 'a'.repeat(20_000) }));
    assert.equal(live.status, 431);
    assert.ok(target.io.engine.clients.has(sid));
    assert.equal(target.io.engine.clientsCount, 1);
    await assertStillServes(t, target.url);
  });

  test('answers 431 to an upgrade request with headers over the limit', async (t) => {
    const target = await startTarget(t);
    const res = await rawUpgrade(t, target.port, '/socket.io/?EIO=4&transport=websocket', { headers: { 'x-big': 'a'.repeat(20_000) } });
    assert.equal(res.status, 431);
    assert.equal(target.io.engine.clientsCount, 0);
    await assertStillServes(t, target.url);
  });

  test('refuses an upgrade whose Upgrade header falls past maxHeadersCount (ws CVE-2024-37890) without crashing', async (t) => {
    const target = await startTarget(t);
    // 2100 tiny headers stay under 16 KiB; Node keeps the first 2000, so Upgrade and Sec-WebSocket-* are dropped
    const head =
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      Object.keys(many(2100)).map((k) => `${k}: v\r\n`).join('') +
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    const res = await rawHttp(target.port, head);
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body), { code: 3, message: 'Bad request' });
    assert.equal(target.io.engine.clientsCount, 0);
    await assertStillServes(t, target.url);
  });

  test('survives an upgrade with truncated headers through io.attach (an upgrade listener) too', async (t) => {
    const target = await startTarget(t);
    target.io.attach(target.server);
    const head =
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
      Object.keys(many(2100)).map((k) => `${k}: v\r\n`).join('') +
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    const res = await rawHttp(target.port, head);
    assert.ok(res.status === 400, String(res.status));
    assert.equal(target.io.engine.clientsCount, 0);
    await assertStillServes(t, target.url);
  });
});

describe('slowloris', () => {
  test('slow headers are cut by the server\'s headersTimeout while fresh clients connect meanwhile', async (t) => {
    const target = await startTarget(t, {}, { http: { headersTimeout: 1000, requestTimeout: 1500, connectionsCheckingInterval: 100 } });
    const sockets: net.Socket[] = [];
    const ended: Array<Promise<unknown>> = [];
    for (let i = 0; i < 50; i++) {
      const socket = net.connect(target.port, '127.0.0.1');
      t.after(() => socket.destroy());
      socket.on('error', () => undefined);
      socket.resume();
      ended.push(within(once(socket, 'close', 5000), 5000, 'the slow connection to be cut'));
      socket.write('GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      sockets.push(socket);
    }
    // a header line now and then, never the blank line that ends them
    let n = 0;
    const drip = setInterval(() => {
      for (const socket of sockets) if (!socket.destroyed) socket.write(`x-drip-${n}: ${n}\r\n`);
      n++;
    }, 100);
    t.after(() => clearInterval(drip));
    await assertStillServes(t, target.url);
    await Promise.all(ended);
    clearInterval(drip);
    assert.equal(target.io.engine.clientsCount, 0);
  });

  test('a slow POST body is answered 408 after bodyTimeout, logged, and the session survives', async (t) => {
    const target = await startTarget(t, { bodyTimeout: 300 });
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const socket = net.connect(target.port, '127.0.0.1');
    t.after(() => socket.destroy());
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', () => undefined);
    const closed = once(socket, 'close', 5000);
    socket.write(requestHead('POST', pathOf(sessionUrl), { 'Content-Length': 1000 }));
    const drip = setInterval(() => socket.writable && socket.write('3'), 20);
    t.after(() => clearInterval(drip));
    await closed;
    clearInterval(drip);
    assert.match(Buffer.concat(chunks).toString('latin1'), /^HTTP\/1\.1 408 /);
    await assertRefusals(target, 'ERR_BODY_TIMEOUT', 1, { sid, remoteAddress: '127.0.0.1', limit: 300 });
    assert.ok(target.io.engine.clients.has(sid));
    await assertSessionWorks(target, sessionUrl);
    await assertStillServes(t, target.url);
  });

  test('an upgrade request sent halfway is cut by headersTimeout', async (t) => {
    const target = await startTarget(t, {}, { http: { headersTimeout: 500, requestTimeout: 1000, connectionsCheckingInterval: 100 } });
    const socket = net.connect(target.port, '127.0.0.1');
    t.after(() => socket.destroy());
    socket.on('error', () => undefined);
    socket.resume();
    const closed = once(socket, 'close', 5000);
    socket.write('GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n');
    await closed;
    assert.equal(target.io.engine.clientsCount, 0);
    await assertStillServes(t, target.url);
  });
});

describe('JSONP callback injection', () => {
  const INJECTIONS: ReadonlyArray<readonly [string, string]> = [
    ['alert(1)//', '1'],
    ['0);alert(document.cookie);//', '0'],
    ['</script><script>alert(1)</script>', '1'],
    ['\u2028\u2029', ''],
    ['1e3', '13'],
    ['', ''],
    ['-1', '1'],
    ['0x1f', '01'],
  ];
  for (const [j, digits] of INJECTIONS) {
    test(`strips j=${JSON.stringify(j)} to its digits (___eio[${digits}])`, async (t) => {
      const target = await startTarget(t);
      const res = await httpRequest(`${target.url}/socket.io/?EIO=4&transport=polling&j=${encodeURIComponent(j)}`);
      assert.equal(res.status, 200);
      assert.ok(res.body.startsWith(`___eio[${digits}]("0{`), res.body);
      assert.ok(res.body.endsWith('");'));
      // the whole answer is one call with one string literal: nothing of j escapes it
      assert.match(res.body, /^___eio\[\d*\]\("(?:[^"\\]|\\.)*"\);$/);
    });
  }

  test('escapes what the server sends back inside the JSONP string literal', async (t) => {
    const target = await startTarget(t);
    const { sessionUrl } = await pollingSession(target.url, { query: '&j=0' });
    await httpRequest(sessionUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'd=40' });
    await httpRequest(sessionUrl);
    const evil = '"); alert(1); //</script>\u2028\u2029';
    assert.equal((await httpRequest(sessionUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `d=${encodeURIComponent(`421["echo",${JSON.stringify(evil)}]`)}` })).body, 'ok');
    const res = await httpRequest(sessionUrl);
    assert.match(res.body, /^___eio\[0\]\("(?:[^"\\\u2028\u2029]|\\.)*"\);$/);
    await assertStillServes(t, target.url);
  });
});

describe('query strings over maxQueryLength', () => {
  test('answers a polling handshake with a query over maxQueryLength 400 code 3 and logs size and limit', async (t) => {
    const target = await startTarget(t, { maxQueryLength: 500 });
    const res = await httpRequest(`${target.url}/socket.io/?EIO=4&transport=polling&pad=${'q'.repeat(600)}`);
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body), { code: 3, message: 'Bad request' });
    await assertRefusals(target, 'ERR_QUERY_TOO_LONG', 1, { remoteAddress: '127.0.0.1', limit: 500, size: (v: unknown) => (v as number) > 600 });
    assert.equal(target.io.engine.clientsCount, 0);
    await assertStillServes(t, target.url);
  });

  test('refuses an upgrade with a query over the default 4096 before the 101', async (t) => {
    const target = await startTarget(t);
    const res = await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&pad=${'q'.repeat(5000)}`);
    assert.equal(res.status, 400);
    assert.equal(res.body, 'Bad request');
    await assertRefusals(target, 'ERR_QUERY_TOO_LONG', 1, { limit: 4096 });
    await assertStillServes(t, target.url);
  });

  test('refuses an over-long query on a live sid and leaves the session alone', async (t) => {
    const target = await startTarget(t, { maxQueryLength: 500 });
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const res = await httpRequest(`${sessionUrl}&pad=${'q'.repeat(600)}`, { method: 'POST', body: '42["x"]' });
    assert.equal(res.status, 400);
    assert.ok(target.io.engine.clients.has(sid));
    assert.equal(warnsWith(target.sink, 'ERR_QUERY_TOO_LONG').length, 1);
    await assertSessionWorks(target, sessionUrl);
  });
});

describe('connections reset mid-request (engine.io CVE-2022-41940: ECONNRESET was an unhandled error)', () => {
  /** Opens a TCP connection, writes `text`, waits until the server has taken the request (and `ready`), then resets it. */
  async function resetAfter(target: Target, text: string, ready: () => boolean = () => true): Promise<void> {
    const path = text.slice(text.indexOf(' ') + 1, text.indexOf(' HTTP/1.1'));
    const taken = new Promise<void>((resolve) => {
      const onRequest = (req: { url?: string }): void => {
        if (req.url !== path) return;
        target.server.removeListener('request', onRequest);
        resolve();
      };
      target.server.on('request', onRequest);
    });
    const socket = net.connect(target.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    socket.write(text);
    await within(taken, 3000, 'the server to take the request');
    await until(ready, 3000, 'the server to be in the state to cut');
    socket.resetAndDestroy();
    await once(socket, 'close');
  }

  test('a reset during a POST body, a held GET, a handshake and an upgrade leaves the server serving', async (t) => {
    const target = await startTarget(t);
    // a POST body cut halfway: the session ends (transport error), nothing is thrown
    const first = await connectedPollingSession(target.url);
    await resetAfter(target, requestHead('POST', pathOf(first.sessionUrl), { 'Content-Length': 1000 }) + '42["x",');
    await until(() => !target.io.engine.clients.has(first.sid));
    // a held GET cut
    const second = await connectedPollingSession(target.url);
    const session = target.io.engine.clients.get(second.sid);
    await resetAfter(target, requestHead('GET', pathOf(second.sessionUrl)), () => session?.transport.writable === true);
    await until(() => !target.io.engine.clients.has(second.sid));
    // a handshake and an upgrade request cut before their answers are read
    await resetAfter(target, requestHead('GET', '/socket.io/?EIO=4&transport=polling'));
    await resetAfter(
      target,
      requestHead('GET', '/socket.io/?EIO=4&transport=websocket', { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': 13, 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' }),
    );
    // a WebSocket cut in the middle of a frame
    const { ws, sid } = await rawSocketIo(t, target.port);
    ws.write(Buffer.from([0x81, 0xfe, 0x10, 0x00, 0, 0, 0, 0, 0x34]));
    ws.socket.resetAndDestroy();
    await until(() => !target.io.engine.clients.has(sid));
    await assertStillServes(t, target.url);
  });
});

describe('duplicated and array-shaped query parameters (engine.io CVE-2023-31125 took a transport array)', () => {
  test('reads the first value of a repeated parameter and never fails on an array form', async (t) => {
    const target = await startTarget(t);
    const { sid } = await connectedPollingSession(target.url);
    const rows: ReadonlyArray<readonly [string, number]> = [
      ['EIO=4&transport=polling&transport=websocket', 200],
      ['EIO=4&EIO=3&transport=polling', 200],
      ['EIO=3&EIO=4&transport=polling', 400],
      ['EIO=4&transport[]=polling', 400],
      ['EIO=4&transport[0]=polling&transport[1]=websocket', 400],
      [`EIO=4&transport=polling&sid=${sid}&sid=other`, 200],
      [`EIO=4&transport=polling&sid[]=${sid}`, 400],
      ['EIO=4&transport=__proto__', 400],
      ['EIO=4&transport=constructor', 400],
      ['EIO[]=4&transport=polling', 400],
    ];
    for (const [query, status] of rows) {
      const res = await httpRequest(`${target.url}/socket.io/?${query}`, { method: query.includes('sid') ? 'POST' : 'GET', body: query.includes('sid') ? '3' : undefined });
      assert.equal(res.status, status, query);
    }
    for (const query of [`EIO=4&transport=websocket&transport=polling&sid=${sid}`, 'EIO=4&transport[]=websocket', `EIO=4&transport=polling&sid=${sid}`, 'EIO=4&transport=websocket&sid[]=x']) {
      const res = await rawUpgrade(t, target.port, `/socket.io/?${query}`);
      assert.ok(res.status === 101 || res.status === 400, `${query}: ${res.status}`);
      res.ws?.destroy();
    }
    await assertStillServes(t, target.url);
  });
});

describe('binary (octet-stream) POSTs end their request (engine.io CVE-2026-59725)', () => {
  test('answers each with 400 and Connection: close, logs ERR_BAD_REQUEST, and holds no connection', async (t) => {
    const target = await startTarget(t);
    const count = (): Promise<number> => new Promise((resolve, reject) => target.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    const sessions = await Promise.all(Array.from({ length: 20 }, () => pollingSession(target.url)));
    for (const { sessionUrl } of sessions) {
      const res = await rawHttp(target.port, requestHead('POST', pathOf(sessionUrl), { 'Content-Type': 'application/octet-stream', 'Content-Length': 4, Connection: 'keep-alive' }), Buffer.from([0, 4, 0xff, 1]));
      assert.equal(res.status, 400);
      assert.equal(res.headers.connection, 'close');
    }
    await assertRefusals(target, 'ERR_BAD_REQUEST', 20, { remoteAddress: '127.0.0.1', detail: 'invalid content' });
    assert.equal(target.io.engine.clientsCount, 0);
    let open = Infinity;
    await until(() => {
      void count().then((n) => (open = n));
      return open === 0;
    }, 3000, 'every connection to close');
    await assertStillServes(t, target.url);
  });
});

describe('hostile WebSocket handshake headers', () => {
  // ws GHSA-5v72-xg48-5rpm: Object.prototype names in Sec-WebSocket-Extensions crashed the server
  for (const perMessageDeflate of [false, true]) {
    test(`survives Object.prototype names in Sec-WebSocket-Extensions (perMessageDeflate ${perMessageDeflate})`, async (t) => {
      const target = await startTarget(t, { perMessageDeflate });
      for (const value of ['constructor', ',;constructor', 'permessage-deflate; constructor', 'permessage-deflate; __proto__=1; toString', 'hasOwnProperty; hasOwnProperty', 'permessage-deflate; client_max_window_bits=constructor']) {
        const res = await rawUpgrade(t, target.port, '/socket.io/?EIO=4&transport=websocket', { headers: { 'Sec-WebSocket-Extensions': value } });
        assert.ok(res.status === 101 || res.status === 400, `${value}: ${res.status}`);
        res.ws?.destroy();
      }
      await assertStillServes(t, target.url);
    });
  }

  // ws CVE-2021-32640 (GHSA-6fc8-4gx4-v693): a crafted Sec-WebSocket-Protocol made the header parser quadratic
  test('answers an upgrade with a pathological Sec-WebSocket-Protocol at once', async (t) => {
    const target = await startTarget(t);
    const res = await rawUpgrade(t, target.port, '/socket.io/?EIO=4&transport=websocket', { headers: { 'Sec-WebSocket-Protocol': 'b' + ' '.repeat(15_000) + 'x' }, ms: 2000 });
    assert.ok(res.status === 101 || res.status === 400, String(res.status));
    res.ws?.destroy();
    await assertStillServes(t, target.url);
  });

  test('refuses an upgrade without Sec-WebSocket-Key or with a bad version, and still serves', async (t) => {
    const target = await startTarget(t);
    for (const headers of [{ 'Sec-WebSocket-Key': '' }, { 'Sec-WebSocket-Key': 'short' }, { 'Sec-WebSocket-Version': '7' }, { 'Sec-WebSocket-Version': 'x' }] as Array<Record<string, string>>) {
      const res = await rawUpgrade(t, target.port, '/socket.io/?EIO=4&transport=websocket', { headers });
      assert.equal(res.status, 400, JSON.stringify(headers));
    }
    assert.equal(target.io.engine.clientsCount, 0);
    await assertStillServes(t, target.url);
  });
});
