// serveClient: socket.io-client's browser builds at <mount><path>socket.io.js & co., with socket.io's
// caching headers, and a bare io() that connects to the mount the script was served from.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import vm from 'node:vm';
import { gunzipSync } from 'node:zlib';
import express from 'express';
import { engine } from '../../lib/engine-io';
import { socketio, type ServerOptions } from '../../lib/index';
import { logSink } from '../support/logs';
import { listen } from '../support/server';
import { within } from '../support/wait';

const CLIENT_DIST = join(dirname(require.resolve('socket.io-client/package.json')), 'dist');
const CLIENT_VERSION = (JSON.parse(readFileSync(join(CLIENT_DIST, '../package.json'), 'utf8')) as { version: string }).version;
const packageFile = (name: string): Buffer => readFileSync(join(CLIENT_DIST, name));

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on a fresh connection, the body as raw bytes (it may be gzip). */
function get(url: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET'): Promise<Answer> {
  return within(
    new Promise<Answer>((resolve, reject) => {
      const req = http.request(url, { method, headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    5000,
    `${method} ${url}`,
  );
}

/** An Express app: socketio(opts) at `mount`, then a JSON 404 handler of the app's own. */
async function startApp(t: TestContext, mount: string, opts: ServerOptions = {}): Promise<string> {
  const app = express();
  const io = socketio({ logger: logSink('warn').logger, ...opts });
  app.use(mount, io);
  app.use((req, res) => {
    res.status(404).json({ appNotFound: req.originalUrl });
  });
  t.after(() => io.close());
  return (await listen(t, app)).url;
}

type Lookup = ((uri?: unknown, opts?: Record<string, unknown>) => { io: { opts: { path: string } }; nsp: string }) & Record<string, unknown>;

/** Runs a served UMD bundle the way a <script> tag does and returns the global `io` it leaves. */
function runScript(source: string): Lookup {
  const sandbox: Record<string, unknown> = { setTimeout, clearTimeout };
  vm.runInNewContext(source, sandbox);
  return sandbox.io as Lookup;
}

/** The resource path a client socket would request, without connecting (the URL names no live server). */
const pathOf = (lookup: Lookup, opts: Record<string, unknown> = {}): string =>
  lookup('http://127.0.0.1:9', { autoConnect: false, forceNew: true, ...opts }).io.opts.path;

describe('serveClient', () => {
  test('serves socket.io.js at the root byte for byte, with socket.io caching headers', async (t) => {
    const url = await startApp(t, '/');
    const res = await get(`${url}/socket.io/socket.io.js`);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/javascript; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'public, max-age=0');
    assert.equal(res.headers.etag, `"${CLIENT_VERSION}"`);
    assert.equal(res.headers['content-length'], String(res.body.length));
    assert.ok(res.body.equals(packageFile('socket.io.js')));
  });

  test('answers 304 when If-None-Match names the ETag, strong, weak or in a list', async (t) => {
    const url = await startApp(t, '/');
    const { headers } = await get(`${url}/socket.io/socket.io.min.js`);
    const etag = headers.etag as string;
    for (const inm of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await get(`${url}/socket.io/socket.io.min.js`, { 'If-None-Match': inm });
      assert.equal(res.status, 304, inm);
      assert.equal(res.body.length, 0);
      assert.equal(res.headers.etag, etag);
    }
    const stale = await get(`${url}/socket.io/socket.io.min.js`, { 'If-None-Match': '"0.0.1"' });
    assert.equal(stale.status, 200);
  });

  for (const name of ['socket.io.min.js', 'socket.io.esm.min.js', 'socket.io.msgpack.min.js']) {
    test(`serves ${name} and its source map`, async (t) => {
      const url = await startApp(t, '/');
      const js = await get(`${url}/socket.io/${name}`);
      assert.equal(js.status, 200);
      assert.equal(js.headers['content-type'], 'application/javascript; charset=utf-8');
      assert.ok(js.body.equals(packageFile(name)));
      const map = await get(`${url}/socket.io/${name}.map`);
      assert.equal(map.status, 200);
      assert.equal(map.headers['content-type'], 'application/json; charset=utf-8');
      assert.equal((JSON.parse(map.body.toString('utf8')) as { version: number }).version, 3);
    });
  }

  test('serves a query string (a cache buster) and HEAD without a body', async (t) => {
    const url = await startApp(t, '/');
    const busted = await get(`${url}/socket.io/socket.io.js?v=${CLIENT_VERSION}`);
    assert.equal(busted.status, 200);
    const head = await get(`${url}/socket.io/socket.io.js`, {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(packageFile('socket.io.js').length));
    assert.equal(head.body.length, 0);
  });

  test('gzips for clients that accept it', async (t) => {
    const url = await startApp(t, '/');
    const res = await get(`${url}/socket.io/socket.io.js`, { 'Accept-Encoding': 'br;q=1, gzip;q=0.8' });
    assert.equal(res.headers['content-encoding'], 'gzip');
    assert.equal(res.headers.vary, 'Accept-Encoding');
    assert.ok(gunzipSync(res.body).equals(packageFile('socket.io.js')));
    const refused = await get(`${url}/socket.io/socket.io.js`, { 'Accept-Encoding': 'gzip;q=0' });
    assert.equal(refused.headers['content-encoding'], undefined);
  });

  test('leaves other files under the path to the engine', async (t) => {
    const url = await startApp(t, '/');
    const res = await get(`${url}/socket.io/other.js`);
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body.toString('utf8')), { code: 0, message: 'Transport unknown' });
  });

  test('knows no client files on the Engine.IO entry point', async (t) => {
    const eio = engine();
    t.after(() => eio.close());
    const app = express();
    app.use(eio);
    const { url } = await listen(t, app);
    const res = await get(`${url}/engine.io/socket.io.js`);
    assert.equal(res.status, 400);
  });

  test('passes the client paths to next() with serveClient: false', async (t) => {
    const url = await startApp(t, '/chat', { serveClient: false });
    const res = await get(`${url}/chat/socket.io/socket.io.js`);
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.body.toString('utf8')), { appNotFound: '/chat/socket.io/socket.io.js' });
  });

  test('refuses a serveClient that is not a boolean', () => {
    assert.throws(() => socketio({ serveClient: 'yes' as unknown as boolean }), { code: 'ERR_INVALID_OPTION' });
  });

  test('answers 404 with a message, and warns once at start-up, when socket.io-client is not installed', async (t) => {
    // hide the package from require.resolve while socketio() starts
    const mod = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
    const original = mod._resolveFilename;
    mod._resolveFilename = function (request, ...rest) {
      if (request.startsWith('socket.io-client')) throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
      return original.call(this, request, ...rest);
    };
    const sink = logSink('warn');
    let io: ReturnType<typeof socketio>;
    try {
      io = socketio({ logger: sink.logger });
    } finally {
      mod._resolveFilename = original;
    }
    t.after(() => io.close());
    assert.equal(sink.withCode('MODULE_NOT_FOUND').length, 1);
    assert.equal(sink.withCode('MODULE_NOT_FOUND')[0].module, 'socket.io-client');
    const app = express();
    app.use(io);
    const { url } = await listen(t, app);
    for (const name of ['socket.io.js', 'socket.io.min.js']) {
      const res = await get(`${url}/socket.io/${name}`);
      assert.equal(res.status, 404);
      assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
      assert.match(res.body.toString('utf8'), /npm install socket\.io-client/);
    }
    assert.equal(sink.withCode('MODULE_NOT_FOUND').length, 1);
  });
});

describe('serveClient under a mount', () => {
  test('makes a bare io() of the served script connect to the mount', async (t) => {
    const url = await startApp(t, '/chat');
    for (const name of ['socket.io.js', 'socket.io.min.js', 'socket.io.msgpack.min.js']) {
      const res = await get(`${url}/chat/socket.io/${name}`);
      assert.equal(res.status, 200, name);
      assert.equal(res.headers['content-type'], 'application/javascript; charset=utf-8');
      const io = runScript(res.body.toString('utf8'));
      assert.equal(pathOf(io), '/chat/socket.io/', name);
      assert.equal(pathOf(io.connect as Lookup), '/chat/socket.io/', `${name} io.connect`);
      // an explicit path wins; the namespace in the URL is still the namespace
      assert.equal(pathOf(io, { path: '/elsewhere/' }), '/elsewhere/');
      assert.equal(io('http://127.0.0.1:9/admin', { autoConnect: false, forceNew: true }).nsp, '/admin');
      assert.equal(typeof io.Manager, 'function');
    }
  });

  test('keeps every original line where the source map says it is', async (t) => {
    const url = await startApp(t, '/chat');
    const served = (await get(`${url}/chat/socket.io/socket.io.min.js`)).body.toString('utf8').split('\n');
    const original = packageFile('socket.io.min.js').toString('utf8').split('\n');
    const mapLine = original.findIndex((l) => l.startsWith('//# sourceMappingURL='));
    assert.deepEqual(served.slice(0, mapLine), original.slice(0, mapLine));
    assert.ok(served.includes(original[mapLine]));
    const map = await get(`${url}/chat/socket.io/socket.io.min.js.map`);
    assert.ok(map.body.equals(packageFile('socket.io.min.js.map')));
  });

  test('exports a mount-aware io from the ESM build, as default and connect too', async (t) => {
    const url = await startApp(t, '/chat');
    const res = await get(`${url}/chat/socket.io/socket.io.esm.min.js`);
    // Node resolves a relative sourceMappingURL against the data: URL and fails; the browser does not
    const source = res.body.toString('utf8').replace(/\/\/# sourceMappingURL=.*/, '');
    const mod = (await import(`data:text/javascript;base64,${Buffer.from(source).toString('base64')}`)) as Record<string, Lookup>;
    assert.equal(pathOf(mod.io), '/chat/socket.io/');
    assert.equal(mod.default, mod.io);
    assert.equal(mod.connect, mod.io);
    assert.equal(typeof mod.Manager, 'function');
    assert.equal(typeof mod.Socket, 'function');
  });

  test('gives the patched script its own ETag and answers 304 on it', async (t) => {
    const url = await startApp(t, '/chat');
    const res = await get(`${url}/chat/socket.io/socket.io.js`);
    const etag = res.headers.etag as string;
    assert.notEqual(etag, `"${CLIENT_VERSION}"`);
    assert.match(etag, /^"[^"]+"$/);
    assert.equal((await get(`${url}/chat/socket.io/socket.io.js`, { 'If-None-Match': etag })).status, 304);
    assert.equal((await get(`${url}/chat/socket.io/socket.io.js`, { 'If-None-Match': `"${CLIENT_VERSION}"` })).status, 200);
  });

  test('uses the full mount of nested routers and a custom path', async (t) => {
    const app = express();
    const io = socketio({ path: '/rt/', logger: logSink('warn').logger });
    t.after(() => io.close());
    const outer = express.Router();
    const inner = express.Router();
    inner.use(io);
    outer.use('/b', inner);
    app.use('/a', outer);
    const { url } = await listen(t, app);
    const res = await get(`${url}/a/b/rt/socket.io.js`);
    assert.equal(res.status, 200);
    assert.equal(pathOf(runScript(res.body.toString('utf8'))), '/a/b/rt/');
  });

  test('patches the script for a custom path at the root, and serves nothing at /socket.io/', async (t) => {
    const url = await startApp(t, '/', { path: '/live/' });
    const res = await get(`${url}/live/socket.io.js`);
    assert.equal(res.status, 200);
    assert.equal(pathOf(runScript(res.body.toString('utf8'))), '/live/');
    assert.equal((await get(`${url}/socket.io/socket.io.js`)).status, 404);
  });
});
