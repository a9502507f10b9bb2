// Attacks on sessions: sid reuse from another loopback address (127.0.0.2), connection caps, handshake
// rate, and app code that throws (handlers, middleware, ack callbacks) never taking the process down.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  assertNoCrash,
  assertRefusals,
  assertStillServes,
  connectedPollingSession,
  httpRequest,
  pollingSession,
  rawSocketIo,
  rawUpgrade,
  startTarget,
  watchCrashes,
  type Target,
} from '../support/attack';
import { closeClient, connectIo, openIo, until } from '../support/io';
import { once } from '../support/wait';

watchCrashes();
after(assertNoCrash);

const OTHER = '127.0.0.2';
const UNKNOWN_SID = { code: 1, message: 'Session ID unknown' };

/** The owner's session still carries an event both ways. */
async function assertOwnerUnaffected(target: Target, sessionUrl: string): Promise<void> {
  const socket = [...target.io.of('/').sockets.values()][0];
  const got = once<[string]>(socket, 'mine');
  assert.equal((await httpRequest(sessionUrl, { method: 'POST', body: '42["mine","still"]' })).body, 'ok');
  assert.deepEqual(await got, ['still']);
  socket.emit('back', 1);
  assert.equal((await httpRequest(sessionUrl)).body, '42["back",1]');
}

describe('sid reuse from another address', () => {
  test('refuses polling GET and POST with another address\'s sid (400 code 1), logs each, and the owner goes on', async (t) => {
    const target = await startTarget(t);
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    let events = 0;
    [...target.io.of('/').sockets.values()][0].on('hijack', () => events++);
    const get = await httpRequest(sessionUrl, { localAddress: OTHER });
    assert.equal(get.status, 400);
    assert.deepEqual(JSON.parse(get.body), UNKNOWN_SID);
    const post = await httpRequest(sessionUrl, { method: 'POST', body: '42["hijack"]', localAddress: OTHER });
    assert.equal(post.status, 400);
    assert.deepEqual(JSON.parse(post.body), UNKNOWN_SID);
    await assertRefusals(target, 'ERR_ADDRESS_MISMATCH', 2, { sid, remoteAddress: OTHER });
    assert.equal(events, 0);
    await assertOwnerUnaffected(target, sessionUrl);
    await assertStillServes(t, target.url);
  });

  test('refuses a WebSocket upgrade with another address\'s polling sid before the 101', async (t) => {
    const target = await startTarget(t);
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const res = await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`, { localAddress: OTHER });
    assert.equal(res.status, 400);
    assert.equal(res.body, 'Session ID unknown');
    await assertRefusals(target, 'ERR_ADDRESS_MISMATCH', 1, { sid, remoteAddress: OTHER });
    assert.equal(target.io.engine.clients.get(sid)?.transport.name, 'polling');
    await assertOwnerUnaffected(target, sessionUrl);
    await assertStillServes(t, target.url);
  });

  test('refuses another address\'s sid on a WebSocket session, polling and upgrade alike', async (t) => {
    const target = await startTarget(t);
    const owner = await connectIo(t, target.url, ['websocket']);
    const sid = owner.io.engine.id as string;
    const upgrade = await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`, { localAddress: OTHER });
    assert.equal(upgrade.status, 400);
    const get = await httpRequest(`${target.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { localAddress: OTHER });
    assert.deepEqual(JSON.parse(get.body), UNKNOWN_SID);
    await assertRefusals(target, 'ERR_ADDRESS_MISMATCH', 2, { sid, remoteAddress: OTHER });
    assert.equal(await owner.timeout(2000).emitWithAck('echo', 'owner'), 'owner');
    closeClient(owner);
    await assertStillServes(t, target.url);
  });

  test('with bindSessionToAddress: false another address may use the sid (as the official server)', async (t) => {
    const target = await startTarget(t, { bindSessionToAddress: false });
    const { sid, sessionUrl } = await connectedPollingSession(target.url);
    const socket = [...target.io.of('/').sockets.values()][0];
    const got = once<[string]>(socket, 'from');
    assert.equal((await httpRequest(sessionUrl, { method: 'POST', body: '42["from","elsewhere"]', localAddress: OTHER })).body, 'ok');
    assert.deepEqual(await got, ['elsewhere']);
    socket.emit('to', 2);
    assert.equal((await httpRequest(sessionUrl, { localAddress: OTHER })).body, '42["to",2]');
    const probe = await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`, { localAddress: OTHER });
    assert.equal(probe.status, 101);
    assert.deepEqual(target.sink.lines, []);
  });

  // engine.io CVE-2026-59724 (GHSA-gr94-w7qr-f4j3) and @socket.io/cluster-engine CVE-2026-102600 (GHSA-wfpm-5gcm-94cg):
  // a sid named like an Object.prototype property resolved through the prototype chain and crashed the process
  test('refuses sids named like Object.prototype properties (polling GET, POST and upgrade) with 400 code 1', async (t) => {
    const target = await startTarget(t);
    await connectedPollingSession(target.url);
    const names = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__'];
    for (const sid of names) {
      for (const method of ['GET', 'POST']) {
        const res = await httpRequest(`${target.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method, body: method === 'POST' ? '40' : undefined });
        assert.equal(res.status, 400, `${method} ${sid}`);
        assert.deepEqual(JSON.parse(res.body), UNKNOWN_SID);
      }
      const upgrade = await rawUpgrade(t, target.port, `/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
      assert.equal(upgrade.status, 400);
      assert.equal(upgrade.body, 'Session ID unknown');
    }
    await assertRefusals(target, 'ERR_UNKNOWN_SID', names.length * 3, { remoteAddress: '127.0.0.1' });
    assert.equal(target.io.engine.clientsCount, 1);
    await assertStillServes(t, target.url);
  });

  // socket.io CVE-2017-16031 (GHSA-qv2v-m59f-v5fw): ids made with Math.random() were predictable
  test('makes session and socket ids that do not come from Math.random (stubbed to a constant, they stay unique)', async (t) => {
    const target = await startTarget(t);
    const random = Math.random;
    Math.random = () => 0.5;
    t.after(() => {
      Math.random = random;
    });
    const sids = new Set<string>();
    for (let i = 0; i < 50; i++) sids.add((await connectedPollingSession(target.url)).sid);
    Math.random = random;
    const socketIds = [...target.io.of('/').sockets.keys()];
    assert.equal(sids.size, 50);
    assert.equal(new Set(socketIds).size, 50);
    for (const id of [...sids, ...socketIds]) assert.match(id, /^[A-Za-z0-9_-]{20}$/);
  });

  test('refuses malformed and unknown sids with 400 code 1 and logs them as such', async (t) => {
    const target = await startTarget(t);
    for (const sid of ['../../etc/passwd', 'x'.repeat(2000), '%00', 'AAAAAAAAAAAAAAAAAAAAA']) {
      const res = await httpRequest(`${target.url}/socket.io/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`);
      assert.equal(res.status, 400);
      assert.deepEqual(JSON.parse(res.body), UNKNOWN_SID);
    }
    const lines = await assertRefusals(target, 'ERR_UNKNOWN_SID', 4, { remoteAddress: '127.0.0.1' });
    assert.deepEqual(lines.map((l) => l.sid), ['malformed', 'malformed', 'malformed', 'AAAAAAAAAAAAAAAAAAAAA']);
    await assertStillServes(t, target.url);
  });
});

/** Ends a polling session from the client side (POST `1`). */
async function closeSession(sessionUrl: string, localAddress?: string): Promise<void> {
  assert.equal((await httpRequest(sessionUrl, { method: 'POST', body: '1', localAddress })).body, 'ok');
}

describe('connection caps', () => {
  test('answers a handshake over maxConnections 503 {"code":3,"message":"Too many connections"}, polling and WebSocket', async (t) => {
    const target = await startTarget(t, { maxConnections: 3 });
    const sessions = [];
    for (let i = 0; i < 3; i++) sessions.push(await pollingSession(target.url, { localAddress: i === 0 ? OTHER : undefined }));
    const polling = await httpRequest(`${target.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(polling.status, 503);
    assert.deepEqual(JSON.parse(polling.body), { code: 3, message: 'Too many connections' });
    const ws = await rawUpgrade(t, target.port, '/socket.io/?EIO=4&transport=websocket');
    assert.equal(ws.status, 503);
    assert.equal(ws.body, 'Too many connections');
    await assertRefusals(target, 'ERR_TOO_MANY_CONNECTIONS', 2, { remoteAddress: '127.0.0.1', limit: 3, value: 3 });
    // a freed slot is taken again
    await closeSession(sessions[1].sessionUrl);
    await until(() => target.io.engine.clientsCount === 2);
    const again = await pollingSession(target.url);
    await closeSession(again.sessionUrl);
    await closeSession(sessions[0].sessionUrl, OTHER);
    await closeSession(sessions[2].sessionUrl);
    await until(() => target.io.engine.clientsCount === 0);
    await assertStillServes(t, target.url);
  });

  test('answers a handshake over maxConnectionsPerAddress 429; other addresses are not affected', async (t) => {
    const target = await startTarget(t, { maxConnectionsPerAddress: 2 });
    await pollingSession(target.url);
    await rawSocketIo(t, target.port, { join: false });
    const polling = await httpRequest(`${target.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(polling.status, 429);
    assert.deepEqual(JSON.parse(polling.body), { code: 3, message: 'Too many connections from this address' });
    const ws = await rawUpgrade(t, target.port, '/socket.io/?EIO=4&transport=websocket');
    assert.equal(ws.status, 429);
    await assertRefusals(target, 'ERR_TOO_MANY_CONNECTIONS', 2, { remoteAddress: '127.0.0.1', limit: 2, value: 2 });
    await assertStillServes(t, target.url, { localAddress: OTHER });
  });

  test('answers handshakes over maxHandshakesPerSecond 429 once the burst is spent; other addresses are not affected', async (t) => {
    const target = await startTarget(t, { maxHandshakesPerSecond: 5 });
    const statuses: number[] = [];
    // bounded: the burst is 10; 15 attempts
    for (let i = 0; i < 15; i++) statuses.push((await httpRequest(`${target.url}/socket.io/?EIO=4&transport=polling`)).status);
    assert.deepEqual(statuses.slice(0, 10), Array(10).fill(200));
    assert.ok(statuses.slice(10).every((s) => s === 429), JSON.stringify(statuses));
    const refused = await httpRequest(`${target.url}/socket.io/?EIO=4&transport=polling`);
    assert.deepEqual(JSON.parse(refused.body), { code: 3, message: 'Too many handshakes' });
    const ws = await rawUpgrade(t, target.port, '/socket.io/?EIO=4&transport=websocket');
    assert.equal(ws.status, 429);
    const n = statuses.filter((s) => s === 429).length + 2;
    await assertRefusals(target, 'ERR_TOO_MANY_HANDSHAKES', n, { remoteAddress: '127.0.0.1', limit: 5 });
    await assertStillServes(t, target.url, { localAddress: OTHER });
  });

  test('requests of live sessions are not handshakes: a session is not rate limited by the handshake budget', async (t) => {
    const target = await startTarget(t, { maxHandshakesPerSecond: 1 });
    const { sessionUrl } = await connectedPollingSession(target.url);
    for (let i = 0; i < 20; i++) assert.equal((await httpRequest(sessionUrl, { method: 'POST', body: '3' })).body, 'ok');
    assert.deepEqual(target.sink.lines, []);
  });
});

describe('app code that throws never crashes the process', () => {
  test('a throwing or rejecting io.use middleware refuses the connection with connect_error', async (t) => {
    const target = await startTarget(t);
    let calls = 0;
    target.io.use((_socket, next) => {
      calls++;
      if (calls === 1) throw new Error('sync boom');
      if (calls === 2) return Promise.reject(new Error('async boom')) as never;
      next();
    });
    for (const message of ['sync boom', 'async boom']) {
      const client = openIo(t, target.url, ['websocket']);
      const [err] = await once<[Error]>(client, 'connect_error');
      assert.equal(err.message, message);
      closeClient(client);
    }
    await assertStillServes(t, target.url);
  });

  test('throwing and rejecting event handlers, socket.use, onAny and ack callbacks are logged, not fatal', async (t) => {
    const target = await startTarget(t);
    const serverAcks: Array<Promise<unknown>> = [];
    target.io.on('connection', (socket) => {
      socket.use(([ev], next) => {
        if (ev === 'use-throws') throw new Error('socket.use boom');
        next();
      });
      socket.onAny((ev: string) => {
        if (ev === 'any-throws') throw new Error('onAny boom');
      });
      socket.on('sync-throws', () => {
        throw new Error('handler boom');
      });
      socket.on('async-throws', async () => {
        throw new Error('async handler boom');
      });
      socket.on('ask', () => {
        serverAcks.push(
          new Promise<void>((resolve) => {
            socket.emit('question', () => {
              resolve();
              throw new Error('ack callback boom');
            });
          }),
        );
        socket.timeout(1000).emit('question', async () => {
          throw new Error('async ack callback boom');
        });
      });
      throw new Error('connection handler boom');
    });
    target.io.on('connection', (socket) => {
      socket.on('disconnect', () => {
        throw new Error('disconnect handler boom');
      });
    });
    const client = await connectIo(t, target.url, ['websocket']);
    client.on('question', (ack: (v: unknown) => void) => ack('answer'));
    for (const ev of ['use-throws', 'any-throws', 'sync-throws', 'async-throws', 'ask']) client.emit(ev);
    // the marker answers after every event above was handled
    assert.equal(await client.timeout(2000).emitWithAck('echo', 'marker'), 'marker');
    await Promise.all(serverAcks);
    await until(() => target.sink.lines.filter((l) => l.level === 50).length >= 6, 3000, 'the error lines');
    closeClient(client);
    await until(() => target.io.engine.clientsCount === 0);
    assertNoCrash();
    await assertStillServes(t, target.url);
  });

  test('a throwing Express middleware before io answers 500 and the process goes on', async (t) => {
    let armed = true;
    const target = await startTarget(t, {}, {
      before: [
        (req, _res, next) => {
          if (armed && req.url?.includes('boom')) throw new Error('express boom');
          next();
        },
      ],
    });
    target.app.use(((_err, _req, res, _next) => res.status(500).end('handled')) as import('express').ErrorRequestHandler);
    const res = await httpRequest(`${target.url}/socket.io/?EIO=4&transport=polling&boom=1`);
    assert.equal(res.status, 500);
    armed = false;
    await assertStillServes(t, target.url);
  });

  test('a throwing allowRequest refuses the handshake with 403 and the process goes on', async (t) => {
    let armed = true;
    const target = await startTarget(t, {
      allowRequest: (_req, cb) => {
        if (armed) throw new Error('allowRequest boom');
        cb(null, true);
      },
    });
    const res = await httpRequest(`${target.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal(res.status, 403);
    armed = false;
    await assertStillServes(t, target.url);
  });

  test('a throwing dynamic namespace matcher refuses that namespace only', async (t) => {
    const target = await startTarget(t);
    target.io.of(() => {
      throw new Error('matcher boom');
    });
    const { ws } = await rawSocketIo(t, target.port);
    ws.text('40/dyn,');
    assert.match(await ws.textFrame((s) => s.startsWith('44/dyn,')), /Invalid namespace/);
    await assertStillServes(t, target.url);
  });
});
