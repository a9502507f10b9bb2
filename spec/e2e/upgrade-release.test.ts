// An upgrade taken through the app lets go of Node's HTTP machinery and of the app's response once open.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import express from 'express';
import { WebSocket } from 'ws';
import { engine, type EngineMiddleware } from '../../lib/engine-io';
import { logSink } from '../support/logs';
import { listen } from '../support/server';
import { once } from '../support/wait';

type Mode = 'no upgrade listener' | 'io.attach(server)';
const MODES: readonly Mode[] = ['no upgrade listener', 'io.attach(server)'];

/** A full GC, whether or not the test runner was started with --expose-gc. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** What Node's server still tracks as HTTP connections (lib/_http_server.js kConnections). */
function trackedHttpSockets(server: http.Server): unknown[] {
  const key = Object.getOwnPropertySymbols(server).find((s) => s.description === 'http.server.connections');
  const list = key ? (server as unknown as Record<symbol, { all(): Array<{ socket?: unknown }> }>)[key] : undefined;
  assert.ok(list, 'Node keeps a connections list on a listening server');
  return list.all().map((parser) => parser.socket);
}

interface Opened {
  eio: EngineMiddleware;
  server: http.Server;
  socket: import('node:net').Socket;
  response: WeakRef<http.ServerResponse>;
}

/** An Express app with the engine mounted (and attached, in that mode); one WebSocket opened through it. */
async function openThroughApp(t: TestContext, mode: Mode): Promise<Opened> {
  const eio = engine({ logger: logSink('warn').logger });
  t.after(() => eio.close());
  let response: WeakRef<http.ServerResponse> | undefined;
  const app = express();
  app.use((_req, res, next) => {
    response = new WeakRef(res);
    next();
  });
  app.use(eio);
  const server = http.createServer(app);
  if (mode === 'io.attach(server)') t.after(eio.attach(server));
  const { port } = await listen(t, server);
  const connected = once<[{ request: http.IncomingMessage }]>(eio, 'connection');
  const ws = new WebSocket(`ws://127.0.0.1:${port}/engine.io/?EIO=4&transport=websocket`);
  t.after(() => ws.terminate());
  const opened = once<[Buffer]>(ws, 'message');
  const [conn] = await connected;
  assert.equal(String((await opened)[0])[0], '0');
  assert.ok(response, 'the app saw the upgrade request');
  return { eio, server, socket: conn.request.socket as import('node:net').Socket, response };
}

describe('an upgrade taken through the app releases what served the HTTP request', () => {
  for (const mode of MODES) {
    describe(mode, () => {
      test('the app\'s response object is collectable once the WebSocket is open', async (t) => {
        const { response } = await openThroughApp(t, mode);
        // let the upgrade's own turn end before looking (its stack frames hold the response)
        await new Promise((resolve) => setImmediate(resolve));
        collectGarbage();
        assert.equal(response.deref(), undefined, 'something the connection keeps still references the response');
      });

      test('the socket has no HTTP parser and is off the server\'s connections list', async (t) => {
        const { server, socket } = await openThroughApp(t, mode);
        assert.equal((socket as { parser?: unknown }).parser ?? null, null);
        assert.equal((socket as { _httpMessage?: unknown })._httpMessage ?? null, null);
        assert.ok(!trackedHttpSockets(server).includes(socket), 'headersTimeout / requestTimeout would still apply');
        // Node's per-connection HTTP listeners (bound functions) are gone: only ws's own read the socket
        const names = socket.listeners('data').map((f) => f.name);
        assert.ok(!names.includes('bound socketOnData'), names.join());
        assert.ok(!socket.listeners('timeout').some((f) => f.name === 'socketOnTimeout'));
      });
    });
  }
});
