// WebSocket upgrades meet the app's middleware (auth, pino-http, helmet, cors, sessions), outlive the
// HTTP server's timeouts and server.close(), and share the server with other upgrade listeners.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import cors from 'cors';
import { Socket as ClientSocket } from 'engine.io-client';
import type { NextFunction, Request, Response } from 'express';
import session from 'express-session';
import helmet from 'helmet';
import pinoHttp from 'pino-http';
import { WebSocket, WebSocketServer } from 'ws';
import { engine, type EngineMiddleware, type EngineOptions } from '../../lib/engine-io';
import { TRANSPORT_SETS } from '../support/engine';
import { appListen, readResponse } from '../support/http-app';
import { lineSink, type LogLine } from '../support/log-lines';
import { logSink } from '../support/logs';
import { echo, echoOnce, roundTrip, type Transports } from '../support/mount';
import { rawExchange, request, upgradeRequest } from '../support/raw-http';
import { EXPRESS_VERSIONS, listen, type ExpressFactory, type Running } from '../support/server';
import { collect, once, within } from '../support/wait';

type App = ReturnType<ExpressFactory>;
type Mode = 'no upgrade listener' | 'io.attach(server)';
const MODES: readonly Mode[] = ['no upgrade listener', 'io.attach(server)'];
const WS_ONLY: Transports = ['websocket'];
const WITH_WS = TRANSPORT_SETS.filter(([, transports]) => transports.includes('websocket'));

const TOKEN = 'letmein';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const WS_HANDSHAKE = '/engine.io/?EIO=4&transport=websocket';
/** Sec-WebSocket-Accept for the key upgradeRequest() sends (RFC 6455 §1.3). */
const WS_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** The app's own auth: a 401 with a header and a JSON body unless the bearer token or ?token= is right. */
function requireToken(req: Request, res: Response, next: NextFunction): void {
  const bearer = req.headers.authorization?.replace(/^Bearer /, '');
  if (bearer === TOKEN || req.query.token === TOKEN) {
    next();
    return;
  }
  res.status(401).set('WWW-Authenticate', 'Bearer realm="chat"').json({ error: 'unauthorized' });
}

/** An echo engine with a quiet logger, closed after the test. */
function echoEngine(t: TestContext, opts: EngineOptions = {}): EngineMiddleware {
  const eio = engine({ logger: logSink('warn').logger, ...opts });
  echo(eio);
  t.after(() => eio.close());
  return eio;
}

/** Starts `app` as apps start (app.listen), or on a server the engines are attached to. */
async function start(t: TestContext, app: App, mode: Mode, ...engines: EngineMiddleware[]): Promise<Running> {
  if (mode === 'no upgrade listener') {
    const running = await appListen(t, app);
    assert.equal(running.server.listenerCount('upgrade'), 0);
    return running;
  }
  const running = await listen(t, http.createServer(app));
  for (const eio of engines) t.after(eio.attach(running.server));
  return running;
}

const statusOf = (line: LogLine): unknown => (line.res as { statusCode?: unknown } | undefined)?.statusCode;
const urlOf = (line: LogLine): string => String((line.req as { url?: unknown } | undefined)?.url);

for (const [version, express] of EXPRESS_VERSIONS) {
  describe(`upgrades through ${version} middleware`, () => {
    test('connects a WebSocket-only client whose first request is the upgrade on app.listen()', async (t) => {
      const eio = echoEngine(t);
      const app = express();
      app.use(eio);
      const { url } = await start(t, app, 'no upgrade listener');
      const { socket } = await roundTrip(t, eio, url, '/engine.io/', WS_ONLY);
      assert.equal(socket.transport.name, 'websocket');
      assert.equal(socket.upgraded, false);
    });

    for (const mode of MODES) {
      describe(`with ${mode}`, () => {
        test("refuses an upgrade with the app's 401, header and body", async (t) => {
          const eio = echoEngine(t);
          let connections = 0;
          eio.on('connection', () => connections++);
          const app = express();
          app.use(requireToken);
          app.use(eio);
          const { url, port } = await start(t, app, mode, eio);

          const res = await readResponse(port, upgradeRequest(WS_HANDSHAKE));
          assert.equal(res.status, 401);
          assert.equal(res.headers['www-authenticate'], 'Bearer realm="chat"');
          assert.match(res.headers['content-type'], /^application\/json/);
          assert.deepEqual(JSON.parse(res.body), { error: 'unauthorized' });
          assert.equal(res.headers.upgrade, undefined);

          const client = new ClientSocket(url, { path: '/engine.io/', transports: ['websocket'] });
          t.after(() => client.close());
          const [err] = await once<[Error & { type?: string }]>(client, 'error');
          assert.equal(err.message, 'websocket error');
          assert.equal(err.type, 'TransportError');
          assert.equal(connections, 0);
          assert.equal(eio.clientsCount, 0);
        });

        test('lets an upgrade with the right bearer token through', async (t) => {
          const eio = echoEngine(t);
          const app = express();
          app.use(requireToken);
          app.use(eio);
          const { url } = await start(t, app, mode, eio);
          const { socket } = await roundTrip(t, eio, url, '/engine.io/', WS_ONLY, { extraHeaders: AUTH });
          assert.equal(socket.request.headers.authorization, AUTH.authorization);
        });

        test('lets an upgrade with the right query token through', async (t) => {
          const eio = echoEngine(t);
          const app = express();
          app.use(requireToken);
          app.use(eio);
          const { url } = await start(t, app, mode, eio);
          const { socket } = await roundTrip(t, eio, url, '/engine.io/', WS_ONLY, { query: { token: TOKEN } });
          assert.match(socket.request.url ?? '', /[?&]token=letmein(&|$)/);
        });

        test('pino-http logs accepted upgrades with 101 and refused ones with their status', async (t) => {
          const sink = lineSink();
          const eio = echoEngine(t);
          const app = express();
          app.use(pinoHttp({ logger: sink.logger }));
          app.use(requireToken);
          app.use(eio);
          const { url, port } = await start(t, app, mode, eio);

          await roundTrip(t, eio, url, '/engine.io/', WS_ONLY, { extraHeaders: AUTH });
          const accepted = await sink.waitFor((l) => statusOf(l) === 101, 3000, 'the 101 log line');
          assert.match(urlOf(accepted), /^\/engine\.io\/\?.*transport=websocket/);
          assert.equal(accepted.msg, 'request completed');

          const refused = await readResponse(port, upgradeRequest(`${WS_HANDSHAKE}&try=app`));
          assert.equal(refused.status, 401);
          const refusedLine = await sink.waitFor((l) => statusOf(l) === 401, 3000, 'the 401 log line');
          assert.match(urlOf(refusedLine), /try=app/);

          // refused by the engine itself (unknown sid), after the app let it through
          const unknownSid = await readResponse(port, upgradeRequest(`${WS_HANDSHAKE}&sid=AAAAAAAAAAAAAAAAAAAA&try=engine`, AUTH));
          assert.equal(unknownSid.status, 400);
          assert.equal(unknownSid.body, 'Session ID unknown');
          const engineLine = await sink.waitFor((l) => urlOf(l).includes('try=engine'), 3000, 'the engine refusal log line');
          assert.equal(statusOf(engineLine), 400);
          assert.equal(sink.lines.filter((l) => statusOf(l) === 101).length, 1);
        });

        test("helmet's headers appear on the 101 answer", async (t) => {
          const eio = echoEngine(t);
          const app = express();
          app.use(helmet());
          app.use(eio);
          const { port } = await start(t, app, mode, eio);
          const res = await readResponse(port, upgradeRequest(WS_HANDSHAKE));
          assert.equal(res.status, 101);
          assert.equal(res.headers.upgrade, 'websocket');
          assert.equal(res.headers['sec-websocket-accept'], WS_ACCEPT);
          assert.equal(res.headers['x-content-type-options'], 'nosniff');
          assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
          assert.ok(res.headers['content-security-policy']);
          // what makes no sense on a 101 is left out
          assert.equal(res.headers['content-type'], undefined);
          assert.equal(res.headers['content-length'], undefined);
          assert.equal(res.headers['x-powered-by'], undefined);
        });

        for (const [name, transports] of TRANSPORT_SETS) {
          test(`helmet before the engine leaves ${name} working`, async (t) => {
            const eio = echoEngine(t);
            const app = express();
            app.use(helmet());
            app.use(eio);
            const { url } = await start(t, app, mode, eio);
            await roundTrip(t, eio, url, '/engine.io/', transports);
            const polling = await request(`${url}/engine.io/?EIO=4&transport=polling`);
            assert.equal(polling.status, 200);
            assert.equal(polling.headers['x-content-type-options'], 'nosniff');
          });

          test(`cors() before the engine leaves ${name} working`, async (t) => {
            const eio = echoEngine(t);
            const app = express();
            app.use(cors());
            app.use(eio);
            const { url } = await start(t, app, mode, eio);
            await roundTrip(t, eio, url, '/engine.io/', transports);
            const polling = await request(`${url}/engine.io/?EIO=4&transport=polling`);
            assert.equal(polling.status, 200);
            assert.equal(polling.headers['access-control-allow-origin'], '*');
          });

          test(`cors() for an allowed origin works with the engine's origins over ${name}`, async (t) => {
            const origin = 'http://app.example';
            const eio = echoEngine(t, { origins: [origin] });
            const app = express();
            app.use(cors({ origin, credentials: true }));
            app.use(eio);
            const { url } = await start(t, app, mode, eio);
            await roundTrip(t, eio, url, '/engine.io/', transports, { extraHeaders: { origin } });
            const polling = await request(`${url}/engine.io/?EIO=4&transport=polling`, { headers: { origin } });
            assert.equal(polling.status, 200);
            assert.equal(polling.headers['access-control-allow-origin'], origin);
            assert.equal(polling.headers['access-control-allow-credentials'], 'true');
            assert.equal(polling.headers.vary, 'Origin');
            // the app's cors() answers the preflight before the engine sees it
            const preflight = await request(`${url}/engine.io/?EIO=4&transport=polling`, {
              method: 'OPTIONS',
              headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
            });
            assert.equal(preflight.status, 204);
            assert.equal(preflight.headers['access-control-allow-origin'], origin);
          });

          test(`express-session's req.session reaches the engine socket over ${name}`, async (t) => {
            const eio = echoEngine(t);
            const app = express();
            app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
            app.post('/login', (req, res) => {
              (req.session as typeof req.session & { user?: string }).user = 'ada';
              res.send('ok');
            });
            app.use(eio);
            const { url } = await start(t, app, mode, eio);
            const login = await request(`${url}/login`, { method: 'POST' });
            const cookie = String(login.headers['set-cookie']?.[0]).split(';')[0];
            assert.match(cookie, /^connect\.sid=/);
            const { socket } = await roundTrip(t, eio, url, '/engine.io/', transports, { extraHeaders: { cookie } });
            const req = socket.request as typeof socket.request & { session?: { user?: string }; sessionID?: string };
            assert.equal(req.session?.user, 'ada');
          });
        }

        for (const [name, transports] of WITH_WS) {
          test(`a ${name} session outlives headersTimeout, requestTimeout and keepAliveTimeout`, async (t) => {
            const eio = echoEngine(t, { pingInterval: 100, pingTimeout: 2000 });
            const app = express();
            app.use(eio);
            // the timeouts are checked every connectionsCheckingInterval (30 s by default)
            const server = http.createServer({ headersTimeout: 200, requestTimeout: 300, connectionsCheckingInterval: 50 }, app);
            server.keepAliveTimeout = 100;
            const { url } = await listen(t, server);
            if (mode === 'io.attach(server)') t.after(eio.attach(server));
            const { socket, client } = await roundTrip(t, eio, url, '/engine.io/', transports);
            let closed = false;
            client.on('close', () => {
              closed = true;
            });
            // more than requestTimeout + a check interval: the server would have killed a tracked request
            await collect(socket, 'heartbeat', 8, 5000);
            await echoOnce(client, 'after the timeouts');
            assert.equal(closed, false);
            assert.equal(socket.readyState, 'open');
            assert.equal(eio.clientsCount, 1);
          });

          test(`server.close() leaves an open ${name} session alone until eio.close()`, async (t) => {
            const eio = echoEngine(t);
            const app = express();
            app.get('/ping', (_req, res) => {
              res.send('pong');
            });
            app.use(eio);
            const { server, url } = await start(t, app, mode, eio);
            const { socket, client } = await roundTrip(t, eio, url, '/engine.io/', transports);
            // an idle keep-alive connection, so closeIdleConnections() has a list to walk
            const agent = new http.Agent({ keepAlive: true });
            t.after(() => agent.destroy());
            const pong = await within(
              new Promise<string>((resolve, reject) => {
                http.get(`${url}/ping`, { agent }, (res) => {
                  res.setEncoding('utf8');
                  let body = '';
                  res.on('data', (c: string) => (body += c));
                  res.on('end', () => resolve(body));
                }).on('error', reject);
              }),
            );
            assert.equal(pong, 'pong');
            let clientClosed = false;
            client.on('close', () => {
              clientClosed = true;
            });

            const serverClosed = new Promise<Error | undefined>((resolve) => server.close(resolve));
            assert.doesNotThrow(() => server.closeIdleConnections());
            await echoOnce(client, 'after server.close()');
            assert.equal(clientClosed, false);
            assert.equal(socket.readyState, 'open');

            const closing = once(client, 'close');
            eio.close();
            await closing;
            assert.equal(await within(serverClosed, 3000, 'server.close callback'), undefined);
          });
        }
      });
    }

    describe('io.attach(server) beside other upgrade listeners', () => {
      /** A `ws` server of the app's own on /other, with its own `upgrade` listener. */
      const otherWebSockets = (t: TestContext, server: http.Server): void => {
        const wss = new WebSocketServer({ noServer: true });
        wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`other:${String(data)}`)));
        server.on('upgrade', (req, socket, head) => {
          if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/other') return;
          wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
        });
        t.after(() => wss.close());
      };

      const otherEcho = async (t: TestContext, port: number): Promise<void> => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/other`);
        t.after(() => ws.terminate());
        await once(ws, 'open');
        const reply = once<[Buffer]>(ws, 'message');
        ws.send('hi');
        assert.equal(String((await reply)[0]), 'other:hi');
      };

      for (const order of ['before', 'after']) {
        test(`both work with the other listener registered ${order} attach, and the app still refuses`, async (t) => {
          const eio = echoEngine(t);
          const app = express();
          app.use(requireToken);
          app.use(eio);
          const server = http.createServer(app);
          if (order === 'before') otherWebSockets(t, server);
          t.after(eio.attach(server));
          if (order === 'after') otherWebSockets(t, server);
          const { url, port } = await listen(t, server);

          await Promise.all([otherEcho(t, port), roundTrip(t, eio, url, '/engine.io/', WS_ONLY, { extraHeaders: AUTH })]);
          await roundTrip(t, eio, url, '/engine.io/', ['polling', 'websocket'], { query: { token: TOKEN } });

          // a refusal ends the connection, and says so
          const raw = await rawExchange(port, upgradeRequest(WS_HANDSHAKE));
          assert.match(raw, /^HTTP\/1\.1 401 Unauthorized\r\n/);
          assert.match(raw, /\r\nWWW-Authenticate: Bearer realm="chat"\r\n/i);
          assert.match(raw, /\r\nConnection: close\r\n/i);
          assert.ok(raw.endsWith('\r\n\r\n{"error":"unauthorized"}'), raw);
        });
      }

      test('routes every upgrade through the app when no other listener exists', async (t) => {
        const eio = echoEngine(t);
        const app = express();
        app.use(eio);
        app.use((req, res) => {
          res.status(404).json({ notFound: req.originalUrl });
        });
        const { url, port } = await start(t, app, 'io.attach(server)', eio);
        await roundTrip(t, eio, url, '/engine.io/', WS_ONLY);
        const raw = await rawExchange(port, upgradeRequest('/nowhere'));
        assert.match(raw, /^HTTP\/1\.1 404 Not Found\r\n/);
        assert.ok(raw.endsWith('{"notFound":"/nowhere"}'), raw);
      });

      test('attaching the same engine twice adds one listener', async (t) => {
        const eio = echoEngine(t);
        const server = http.createServer(express().use(eio));
        const detach = eio.attach(server);
        eio.attach(server)();
        assert.equal(server.listenerCount('upgrade'), 1);
        detach();
        assert.equal(server.listenerCount('upgrade'), 0);
      });

      for (const withOther of [false, true]) {
        test(`serves two engines on different mounts attached to one server${withOther ? ' beside another listener' : ''}`, async (t) => {
          const a = echoEngine(t);
          const b = echoEngine(t);
          const app = express();
          app.use('/a', a);
          app.use('/b', b);
          app.use((req, res) => {
            res.status(404).json({ notFound: req.originalUrl });
          });
          const server = http.createServer(app);
          if (withOther) otherWebSockets(t, server);
          t.after(a.attach(server));
          t.after(b.attach(server));
          const { url, port } = await listen(t, server);
          await Promise.all([roundTrip(t, a, url, '/a/engine.io/', WS_ONLY), roundTrip(t, b, url, '/b/engine.io/', WS_ONLY)]);
          await roundTrip(t, a, url, '/a/engine.io/', ['polling', 'websocket']);
          await roundTrip(t, b, url, '/b/engine.io/', ['polling', 'websocket']);
          if (withOther) await otherEcho(t, port);
          else {
            // no foreign listener: what neither engine serves still meets the app
            const raw = await rawExchange(port, upgradeRequest('/nowhere'));
            assert.match(raw, /^HTTP\/1\.1 404 Not Found\r\n/);
          }
        });
      }

      test('warns once that upgrades cannot reach an unattached engine beside another listener', async (t) => {
        const sink = lineSink('warn');
        const eio = engine({ logger: sink.logger });
        t.after(() => eio.close());
        const app = express();
        app.use(eio);
        const server = http.createServer(app);
        otherWebSockets(t, server);
        const { url } = await listen(t, server);
        await request(`${url}/engine.io/?EIO=4&transport=polling`);
        await request(`${url}/engine.io/?EIO=4&transport=polling`);
        const line = await sink.waitFor((l) => l.code === 'ERR_UPGRADE_REFUSED');
        assert.match(String(line.msg), /attach/);
        assert.equal(sink.lines.filter((l) => l.code === 'ERR_UPGRADE_REFUSED').length, 1);
      });
    });
  });
}
