// Follow-up polling requests answered before the app's router (issue 8): the app's middleware still sees,
// and may refuse, every handshake and upgrade; `pollingThroughApp: true` routes every request through it.
import assert from 'node:assert/strict';
import type * as http from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import cors from 'cors';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { engine, type EngineMiddleware, type EngineOptions } from '../../lib/engine-io';
import { socketio, type SocketIoServer } from '../../lib/index';
import { TRANSPORT_SETS } from '../support/engine';
import { connectIo, openIo } from '../support/io';
import { logSink } from '../support/logs';
import { echo, echoOnce, roundTrip } from '../support/mount';
import { handshake, request, type RawResponse } from '../support/raw-http';
import { EXPRESS_VERSIONS, listen } from '../support/server';
import { once } from '../support/wait';

const POLLING_SETS = TRANSPORT_SETS.filter(([, transports]) => transports.includes('polling'));
const MODES: ReadonlyArray<readonly [string, boolean]> = [
  ['by default', false],
  ['with pollingThroughApp', true],
];
const ECHOES = 3;

interface Seen {
  method: string;
  sid: boolean;
  upgrade: boolean;
}

/** Records every request under `resource` that reaches the app (mounted first). */
function counter(resource: string): { seen: Seen[]; middleware: RequestHandler; follow: () => Seen[] } {
  const seen: Seen[] = [];
  const middleware = (req: Request, _res: Response, next: NextFunction): void => {
    if (req.originalUrl.includes(resource)) {
      seen.push({ method: req.method, sid: /[?&]sid=[^&]/.test(req.originalUrl), upgrade: req.headers.upgrade !== undefined });
    }
    next();
  };
  // the polling requests of established sessions (not the handshake, not the upgrade)
  return { seen, middleware, follow: () => seen.filter((s) => s.sid && !s.upgrade) };
}

/** An echo engine with a quiet logger, closed after the test. */
function echoEngine(t: TestContext, opts: EngineOptions = {}): EngineMiddleware {
  const eio = engine({ logger: logSink('warn').logger, ...opts });
  echo(eio);
  t.after(() => eio.close());
  return eio;
}

/** A socket.io server answering `echo` with an ack, closed after the test. */
function echoIo(t: TestContext, pollingThroughApp: boolean): SocketIoServer {
  const io = socketio({ logger: logSink('warn').logger, pollingThroughApp });
  io.on('connection', (socket) => socket.on('echo', (data: unknown, ack: (answer: unknown) => void) => ack(data)));
  t.after(() => io.close());
  return io;
}

/** Polling answers compared across modes: everything but the clock. */
function headersOf(res: RawResponse): Record<string, unknown> {
  const { date: _date, ...rest } = res.headers;
  return rest;
}

/** Whether the server's `request` listeners are the app's own (no early answers installed). */
function appListensDirectly(server: http.Server, app: unknown): boolean {
  const listeners = server.listeners('request');
  return listeners.length === 1 && listeners[0] === app;
}

for (const [version, express] of EXPRESS_VERSIONS) {
  describe(`polling fast path in ${version}`, () => {
    for (const [mode, pollingThroughApp] of MODES) {
      for (const [name, transports] of POLLING_SETS) {
        test(`the app sees the handshake${pollingThroughApp ? ' and every poll' : ' only'} of an engine.io-client over ${name} ${mode}`, async (t) => {
          const eio = echoEngine(t, { pollingThroughApp });
          const app = express();
          const count = counter('/engine.io/');
          app.use(count.middleware);
          app.use(eio);
          const { url } = await listen(t, app);
          const { client } = await roundTrip(t, eio, url, '/engine.io/', transports);
          for (let i = 0; i < ECHOES; i++) await echoOnce(client, `echo ${i}`);
          assert.deepEqual(count.seen.filter((s) => !s.sid), [{ method: 'GET', sid: false, upgrade: false }]);
          assert.equal(count.seen.filter((s) => s.upgrade).length, transports.includes('websocket') ? 1 : 0);
          if (!pollingThroughApp) assert.equal(count.follow().length, 0);
          else if (transports.includes('websocket')) assert.ok(count.follow().length >= 1, 'the first poll goes through the app');
          else assert.ok(count.follow().filter((s) => s.method === 'POST').length >= ECHOES + 1, 'every POST goes through the app');
        });

        test(`the app sees the handshake${pollingThroughApp ? ' and every poll' : ' only'} of a socket.io-client over ${name} ${mode}`, async (t) => {
          const io = echoIo(t, pollingThroughApp);
          const app = express();
          const count = counter('/socket.io/');
          app.use(count.middleware);
          app.use(io);
          const { url } = await listen(t, app);
          const client = await connectIo(t, url, transports);
          for (let i = 0; i < ECHOES; i++) assert.equal(await client.timeout(3000).emitWithAck('echo', i), i);
          assert.deepEqual(count.seen.filter((s) => !s.sid), [{ method: 'GET', sid: false, upgrade: false }]);
          if (!pollingThroughApp) assert.equal(count.follow().length, 0);
          else assert.ok(count.follow().length >= 1);
        });
      }
    }

    test('middleware before the engine still refuses a handshake', async (t) => {
      const io = echoIo(t, false);
      const app = express();
      app.use((req: Request, res: Response, next: NextFunction) => {
        if (req.query.deny !== undefined) res.status(403).json({ denied: true });
        else next();
      });
      app.use(io);
      const { url } = await listen(t, app);
      const raw = await request(`${url}/socket.io/?EIO=4&transport=polling&deny=1`);
      assert.equal(raw.status, 403);
      assert.deepEqual(JSON.parse(raw.body), { denied: true });
      const client = openIo(t, url, ['polling'], { query: { deny: '1' } });
      const [err] = await once<[Error & { description?: number }]>(client, 'connect_error');
      assert.equal(err.description, 403);
      assert.equal(io.engine.clientsCount, 0);
    });

    test('middleware that refuses upgrades keeps a session on polling, its polls still answered early', async (t) => {
      const eio = echoEngine(t);
      const app = express();
      const count = counter('/engine.io/');
      app.use(count.middleware);
      app.use((req: Request, res: Response, next: NextFunction) => {
        if (req.headers.upgrade) res.status(401).json({ error: 'no websockets here' });
        else next();
      });
      app.use(eio);
      const { url } = await listen(t, app);
      const { client } = await roundTrip(t, eio, url, '/engine.io/', ['polling']);
      const { Socket: ClientSocket } = await import('engine.io-client');
      const upgrading = new ClientSocket(url, { path: '/engine.io/', transports: ['polling', 'websocket'] });
      t.after(() => upgrading.close());
      const failed = once(upgrading, 'upgradeError');
      await once(upgrading, 'open');
      await failed;
      assert.equal(upgrading.transport.name, 'polling');
      await echoOnce(upgrading, 'still here');
      await echoOnce(client, 'and here');
      assert.equal(count.seen.filter((s) => s.upgrade).length, 1);
      assert.equal(count.follow().length, 0);
    });

    for (const crossOrigin of [true, false]) {
      const kind = crossOrigin ? 'cross-origin' : 'same-origin (no Origin header)';
      test(`replays the headers cors() and helmet set on the handshake on ${kind} follow-up answers`, async (t) => {
        const origin = 'http://app.example';
        const headers = crossOrigin ? { origin } : undefined;
        const exchange = async (pollingThroughApp: boolean): Promise<{ answers: RawResponse[]; follow: number }> => {
          const eio = echoEngine(t, { origins: [origin], pollingThroughApp });
          const app = express();
          const count = counter('/engine.io/');
          app.use(count.middleware);
          app.use(helmet());
          app.use(cors({ origin, credentials: true, exposedHeaders: ['X-Trace'] }));
          app.use(eio);
          const { url } = await listen(t, app);
          const base = `${url}/engine.io/`;
          const hs = await request(`${base}?EIO=4&transport=polling`, { headers });
          const sid = (JSON.parse(hs.body.slice(1)) as { sid: string }).sid;
          const path = `${base}?EIO=4&transport=polling&sid=${sid}`;
          const post = await request(path, { method: 'POST', headers: { ...headers, 'content-type': 'text/plain;charset=UTF-8' }, body: '4hello' });
          const get = await request(path, { headers });
          assert.equal(get.body, '4hello');
          // a refusal answered by the engine on the same path: another protocol revision
          const refused = await request(`${base}?EIO=3&transport=polling&sid=${sid}`, { headers });
          assert.equal(refused.status, 400);
          return { answers: [post, get, refused], follow: count.follow().length };
        };
        const early = await exchange(false);
        const throughApp = await exchange(true);
        assert.equal(early.follow, 0);
        assert.equal(throughApp.follow, 3);
        for (const answer of early.answers) {
          assert.equal(answer.headers['access-control-allow-origin'], origin);
          assert.equal(answer.headers['access-control-allow-credentials'], 'true');
          assert.equal(answer.headers['access-control-expose-headers'], 'X-Trace');
          assert.equal(answer.headers['x-content-type-options'], 'nosniff');
          assert.equal(answer.headers.vary, 'Origin');
          assert.ok(answer.headers['content-security-policy']);
          assert.equal(answer.headers['set-cookie'], undefined);
        }
        // the same answers, header for header, as when the requests walk the app
        assert.deepEqual(early.answers.map(headersOf), throughApp.answers.map(headersOf));
      });
    }

    test('inflates a gzip POST answered early, and frees the POST slot for the next one', async (t) => {
      const eio = echoEngine(t);
      const app = express();
      const count = counter('/engine.io/');
      app.use(count.middleware);
      app.use(eio);
      const { url } = await listen(t, app);
      const base = `${url}/engine.io/`;
      const { sid } = await handshake(base);
      const path = `${base}?EIO=4&transport=polling&sid=${sid}`;
      const gz = await request(path, { method: 'POST', headers: { 'content-encoding': 'gzip' }, body: gzipSync('4zipped') });
      assert.equal(gz.status, 200);
      assert.equal((await request(path)).body, '4zipped');
      const plain = await request(path, { method: 'POST', body: '4plain' });
      assert.equal(plain.status, 200);
      assert.equal((await request(path)).body, '4plain');
      assert.equal(count.follow().length, 0);
    });

    test('answers an unknown sid with the same 400 as through the app', async (t) => {
      const answers: Array<readonly [RawResponse, RawResponse]> = [];
      for (const [, pollingThroughApp] of MODES) {
        const eio = echoEngine(t, { pollingThroughApp });
        const app = express();
        app.use(eio);
        const { url } = await listen(t, app);
        const base = `${url}/engine.io/`;
        await handshake(base);
        const unknown = `${base}?EIO=4&transport=polling&sid=${'A'.repeat(20)}`;
        answers.push([await request(unknown), await request(unknown, { method: 'POST', body: '4x' })]);
      }
      for (const [get, post] of answers) {
        for (const answer of [get, post]) {
          assert.equal(answer.status, 400);
          assert.deepEqual(JSON.parse(answer.body), { code: 1, message: 'Session ID unknown' });
        }
      }
      assert.deepEqual(answers[0].map((a) => [a.status, headersOf(a), a.body]), answers[1].map((a) => [a.status, headersOf(a), a.body]));
    });

    for (const [name, transports] of POLLING_SETS) {
      test(`answers early under a sub-path mount and inside a Router over ${name}`, async (t) => {
        const eio = echoEngine(t);
        const other = echoEngine(t);
        const app = express();
        const count = counter('/engine.io/');
        app.use(count.middleware);
        app.use('/chat', eio);
        const router = express.Router();
        router.use(other);
        app.use('/r', router);
        const { url } = await listen(t, app);
        const chat = await roundTrip(t, eio, url, '/chat/engine.io/', transports);
        const routed = await roundTrip(t, other, url, '/r/engine.io/', transports);
        for (let i = 0; i < ECHOES; i++) {
          await echoOnce(chat.client, `chat ${i}`);
          await echoOnce(routed.client, `router ${i}`);
        }
        assert.equal(count.seen.filter((s) => !s.sid).length, 2);
        assert.equal(count.follow().length, 0);
      });
    }

    test('a session made at one mount path goes through the app at another', async (t) => {
      const eio = echoEngine(t);
      const app = express();
      const count = counter('/engine.io/');
      app.use(count.middleware);
      app.use('/a', eio);
      app.use('/b', eio);
      const { url } = await listen(t, app);
      const { sid } = await handshake(`${url}/a/engine.io/`);
      const atB = await request(`${url}/b/engine.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '4hi' });
      assert.equal(atB.status, 200);
      const atA = await request(`${url}/a/engine.io/?EIO=4&transport=polling&sid=${sid}`);
      assert.equal(atA.body, '4hi');
      // the POST at /b walked the app; the GET at /a did not
      assert.deepEqual(count.follow(), [{ method: 'POST', sid: true, upgrade: false }]);
    });

    test('two io instances on one server answer early; io.close() gives the server back to the app', async (t) => {
      const one = echoEngine(t);
      const two = echoEngine(t, { path: '/two/' });
      const app = express();
      const count = counter('');
      app.use(count.middleware);
      app.use(one);
      app.use(two);
      app.get('/hello', (_req: Request, res: Response) => {
        res.send('hello');
      });
      const { url, server } = await listen(t, app);
      // installed with the first polling handshake, not before
      assert.equal(appListensDirectly(server, app), true);
      const first = await roundTrip(t, one, url, '/engine.io/', ['polling']);
      assert.equal(appListensDirectly(server, app), false);
      const second = await roundTrip(t, two, url, '/two/', ['polling']);
      await echoOnce(first.client, 'one');
      await echoOnce(second.client, 'two');
      assert.equal(count.follow().length, 0);
      const closed = once(first.client, 'close');
      one.close();
      await closed;
      assert.equal(appListensDirectly(server, app), false);
      await echoOnce(second.client, 'two, still early');
      assert.equal(count.follow().length, 0);
      two.close();
      assert.equal(appListensDirectly(server, app), true);
      assert.equal((await request(`${url}/hello`)).body, 'hello');
    });

    test('request listeners added later see every request; all keep their place after io.close()', async (t) => {
      const eio = echoEngine(t);
      const app = express();
      app.use(eio);
      const { url, server } = await listen(t, app);
      const earlier = (): void => undefined;
      server.on('request', earlier);
      const { client } = await roundTrip(t, eio, url, '/engine.io/', ['polling']);
      assert.equal(server.listeners('request').length, 1);
      const seen: string[] = [];
      const spy = (req: http.IncomingMessage): void => {
        if (req.url?.includes('sid=')) seen.push(req.method ?? '');
      };
      server.on('request', spy);
      await echoOnce(client, 'watched');
      assert.ok(seen.includes('POST'));
      eio.close();
      assert.deepEqual(server.listeners('request'), [app, earlier, spy]);
    });

    test('io.close() on a socket.io server gives the server back to the app', async (t) => {
      const io = echoIo(t, false);
      const app = express();
      app.use(io);
      const { url, server } = await listen(t, app);
      const client = await connectIo(t, url, ['polling']);
      assert.equal(await client.timeout(3000).emitWithAck('echo', 'x'), 'x');
      assert.equal(appListensDirectly(server, app), false);
      await io.close();
      assert.equal(appListensDirectly(server, app), true);
      assert.equal((await request(`${url}/socket.io/?EIO=4&transport=polling`)).status, 503);
    });

    test('pollingThroughApp leaves the server untouched', async (t) => {
      const io = echoIo(t, true);
      const app = express();
      app.use(io);
      const { url, server } = await listen(t, app);
      const client = await connectIo(t, url, ['polling']);
      assert.equal(await client.timeout(3000).emitWithAck('echo', 1), 1);
      assert.equal(appListensDirectly(server, app), true);
    });
  });
}

test('pollingThroughApp must be a boolean', () => {
  assert.throws(() => socketio({ pollingThroughApp: 'yes' as never }), { code: 'ERR_INVALID_OPTION' });
});
