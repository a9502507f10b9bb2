// The engine as ordinary middleware: mount points, routers, sub-apps, connect, a bare http handler,
// the app's routes around it, and what Express put on the request.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import connect from 'connect';
import { engine, type EngineMiddleware } from '../../lib/engine-io';
import { TRANSPORT_SETS } from '../support/engine';
import { echo, roundTrip } from '../support/mount';
import { request } from '../support/raw-http';
import { EXPRESS_VERSIONS, listen, type ExpressFactory } from '../support/server';

const MOUNTS: ReadonlyArray<readonly [mount: string, clientPath: string]> = [
  ['/', '/engine.io/'],
  ['/chat', '/chat/engine.io/'],
];

/** An echo engine, closed after the test. */
function echoEngine(t: TestContext): EngineMiddleware {
  const eio = engine();
  echo(eio);
  t.after(() => eio.close());
  return eio;
}

for (const [version, express] of EXPRESS_VERSIONS) {
  /** app: GET /before, the engine at `mount`, GET /after, then a 404 handler of its own. */
  const appAround = (eio: EngineMiddleware, mount: string): ReturnType<ExpressFactory> => {
    const app = express();
    app.get('/before', (_req, res) => {
      res.send('before');
    });
    app.use(mount, eio);
    app.get('/after', (_req, res) => {
      res.send('after');
    });
    app.use((req, res) => {
      res.status(404).json({ notFound: req.originalUrl });
    });
    return app;
  };

  describe(`engine in ${version}`, () => {
    for (const [mount, clientPath] of MOUNTS) {
      for (const [name, transports] of TRANSPORT_SETS) {
        test(`round-trips a message over ${name} with the engine mounted at ${mount}`, async (t) => {
          const eio = echoEngine(t);
          const { url } = await listen(t, appAround(eio, mount));
          await roundTrip(t, eio, url, clientPath, transports);
        });
      }

      test(`leaves the app's routes and 404 handler alone with the engine mounted at ${mount}`, async (t) => {
        const eio = echoEngine(t);
        const { url } = await listen(t, appAround(eio, mount));
        const before = await request(`${url}/before`);
        assert.equal(before.status, 200);
        assert.equal(before.body, 'before');
        const after = await request(`${url}/after`);
        assert.equal(after.status, 200);
        assert.equal(after.body, 'after');
        const unknown = await request(`${url}/nowhere?x=1`);
        assert.equal(unknown.status, 404);
        assert.deepEqual(JSON.parse(unknown.body), { notFound: '/nowhere?x=1' });
        // the resource is matched with its trailing slash (PROTOCOL.md §1.1)
        const noSlash = clientPath.slice(0, -1);
        const bare = await request(`${url}${noSlash}?EIO=4&transport=polling`);
        assert.equal(bare.status, 404);
        assert.deepEqual(JSON.parse(bare.body), { notFound: `${noSlash}?EIO=4&transport=polling` });
        // and the engine really is there, with the slash
        const open = await request(`${url}${clientPath}?EIO=4&transport=polling`);
        assert.equal(open.status, 200);
        assert.match(open.body, /^0\{"sid":/);
      });
    }

    test('does not answer under its path at another mount point', async (t) => {
      const eio = echoEngine(t);
      const { url } = await listen(t, appAround(eio, '/chat'));
      const res = await request(`${url}/engine.io/?EIO=4&transport=polling`);
      assert.equal(res.status, 404);
      assert.deepEqual(JSON.parse(res.body), { notFound: '/engine.io/?EIO=4&transport=polling' });
    });

    for (const [name, transports] of TRANSPORT_SETS) {
      test(`works inside an express.Router over ${name}`, async (t) => {
        const eio = echoEngine(t);
        const app = express();
        const router = express.Router();
        router.get('/ping', (_req, res) => {
          res.send('pong');
        });
        router.use(eio);
        app.use('/r', router);
        const { url } = await listen(t, app);
        await roundTrip(t, eio, url, '/r/engine.io/', transports);
        assert.equal((await request(`${url}/r/ping`)).body, 'pong');
      });

      test(`works inside a nested sub-app (/a/b/engine.io/) over ${name}`, async (t) => {
        const eio = echoEngine(t);
        const app = express();
        const subApp = express();
        subApp.use('/b', eio);
        subApp.get('/hello', (_req, res) => {
          res.send('sub');
        });
        app.use('/a', subApp);
        const { url } = await listen(t, app);
        await roundTrip(t, eio, url, '/a/b/engine.io/', transports);
        assert.equal((await request(`${url}/a/hello`)).body, 'sub');
        assert.equal((await request(`${url}/a/engine.io/?EIO=4&transport=polling`)).status, 404);
      });

      test(`takes the remote address from X-Forwarded-For under 'trust proxy' over ${name}`, async (t) => {
        const eio = echoEngine(t);
        const app = express();
        app.set('trust proxy', true);
        app.use(eio);
        const { url } = await listen(t, app);
        const { socket } = await roundTrip(t, eio, url, '/engine.io/', transports, {
          extraHeaders: { 'x-forwarded-for': '203.0.113.7, 10.0.0.1' },
        });
        assert.equal(socket.remoteAddress, '203.0.113.7');
      });

      test(`ignores X-Forwarded-For without 'trust proxy' over ${name}`, async (t) => {
        const eio = echoEngine(t);
        const app = express();
        app.use(eio);
        const { url } = await listen(t, app);
        const { socket } = await roundTrip(t, eio, url, '/engine.io/', transports, {
          extraHeaders: { 'x-forwarded-for': '203.0.113.7' },
        });
        assert.match(socket.remoteAddress, /^(::ffff:)?127\.0\.0\.1$/);
      });

      test(`keeps what earlier middleware put on the request over ${name}`, async (t) => {
        const eio = echoEngine(t);
        const app = express();
        app.use((req, _res, next) => {
          (req as typeof req & { user?: unknown }).user = { id: 42, name: 'ada' };
          next();
        });
        app.use('/chat', eio);
        const { url } = await listen(t, app);
        const { socket } = await roundTrip(t, eio, url, '/chat/engine.io/', transports);
        const req = socket.request as typeof socket.request & { user?: unknown; baseUrl?: string; query?: unknown };
        assert.deepEqual(req.user, { id: 42, name: 'ada' });
        assert.equal(typeof req.query, 'object');
      });
    }
  });
}

describe('engine behind body parsers', () => {
  const [, express] = EXPRESS_VERSIONS[EXPRESS_VERSIONS.length - 1];

  test('keeps polling working behind express.json() (it skips text/plain POSTs)', async (t) => {
    const eio = echoEngine(t);
    const app = express();
    app.use(express.json());
    app.use(eio);
    const { url } = await listen(t, app);
    await roundTrip(t, eio, url, '/engine.io/', ['polling']);
  });

  // express.text() reads the client's text/plain POST before the engine: polling.ts takes req.body
  test('keeps polling working behind express.text()', async (t) => {
    const eio = echoEngine(t);
    const app = express();
    app.use(express.text());
    app.use(eio);
    const { url } = await listen(t, app);
    await roundTrip(t, eio, url, '/engine.io/', ['polling']);
  });
});

describe('engine without Express', () => {
  for (const [name, transports] of TRANSPORT_SETS) {
    test(`works in a plain connect app at /chat over ${name}`, async (t) => {
      const eio = echoEngine(t);
      const app = connect();
      app.use('/chat', eio);
      app.use('/hello', (_req: http.IncomingMessage, res: http.ServerResponse) => {
        res.end('connect');
      });
      const { url } = await listen(t, app as unknown as http.RequestListener);
      await roundTrip(t, eio, url, '/chat/engine.io/', transports);
      assert.equal((await request(`${url}/hello`)).body, 'connect');
      assert.equal((await request(`${url}/nowhere`)).status, 404);
    });

    test(`works as a bare http.createServer handler over ${name}`, async (t) => {
      const eio = echoEngine(t);
      const { url } = await listen(t, (req, res) => eio(req, res));
      await roundTrip(t, eio, url, '/engine.io/', transports);
    });
  }

  test('answers 404 for other paths as a bare http handler', async (t) => {
    const eio = echoEngine(t);
    const { url } = await listen(t, (req, res) => eio(req, res));
    for (const path of ['/', '/other', '/engine.io?EIO=4&transport=polling']) {
      const res = await request(`${url}${path}`);
      assert.equal(res.status, 404, path);
    }
  });
});
