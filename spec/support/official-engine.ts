// The official engine.io server next to ours, and answers normalised so the two can be compared byte for byte.
import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import type { TestContext } from 'node:test';
import { Server as OfficialServer, type ServerOptions as OfficialOptions } from 'engine.io';
import pino from 'pino';
import WebSocket from 'ws';
import type { EngineOptions } from '../../lib/options';
import { startEngine } from './engine';
import { handshake } from './raw-http';
import { listen, type Running } from './server';
import { once, within } from './wait';

/** What the tests touch of a server-side session, the same on both servers. */
export interface AnySession extends EventEmitter {
  id: string;
  readyState: string;
  transport: { name: string; writable: boolean };
  send(data: string): unknown;
  close(): void;
}

/** One server under test: ours or the official one, reached the same way. */
export interface Target extends Running {
  name: 'official' | 'ours';
  /** `<url>/engine.io/` */
  base: string;
  /** The engine: emits `connection` (session) and `connection_error`. */
  engine: EventEmitter;
  /** Sessions alive right now. */
  readonly clientsCount: number;
}

/** The official engine.io, attached to a server of its own on 127.0.0.1:0; closed after the test. */
export async function startOfficial(t: TestContext, opts: OfficialOptions = {}): Promise<Target> {
  const httpServer = http.createServer();
  const engine = new OfficialServer(opts);
  engine.attach(httpServer);
  t.after(() => engine.close());
  const running = await listen(t, httpServer);
  return {
    ...running,
    name: 'official',
    base: `${running.url}/engine.io/`,
    engine,
    get clientsCount() {
      return engine.clientsCount;
    },
  };
}

/** Ours (engine() mounted in an Express app) wrapped as a Target; silent unless given a logger. */
export async function startOurs(t: TestContext, opts: EngineOptions = {}): Promise<Target> {
  const { eio, ...running } = await startEngine(t, { logger: pino({ level: 'silent' }) as unknown as EngineOptions['logger'], ...opts });
  return {
    ...running,
    name: 'ours',
    base: `${running.url}/engine.io/`,
    engine: eio,
    get clientsCount() {
      return eio.clientsCount;
    },
  };
}

/** Both servers with the same options (those both understand alike): [official, ours]. */
export async function startBoth(t: TestContext, opts: EngineOptions = {}): Promise<[Target, Target]> {
  return [await startOfficial(t, opts as OfficialOptions), await startOurs(t, opts)];
}

/** Headers that differ between any two HTTP servers and say nothing about the protocol. */
const INCIDENTAL = new Set(['date', 'connection', 'keep-alive', 'x-powered-by']);

export interface Answer {
  status: number;
  /** Lower-cased names, incidental headers left out. */
  headers: Record<string, string>;
  body: string;
  /** The body's exact bytes. */
  bytes: Buffer;
}

/** One HTTP request on a connection of its own; the answer without its incidental headers. */
export function answer(
  url: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer } = {},
): Promise<Answer> {
  return within(
    new Promise<Answer>((resolve, reject) => {
      const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (!INCIDENTAL.has(name) && value !== undefined) headers[name] = Array.isArray(value) ? value.join('\n') : value;
          }
          const bytes = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers, body: bytes.toString('utf8'), bytes });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(opts.body);
    }),
    5000,
    `${opts.method ?? 'GET'} ${url}`,
  );
}

/** Resolves once `check()` holds, looking again on every turn of the event loop; rejects after `ms`. */
export function until(check: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  let stopped = false;
  return within(
    new Promise<void>((resolve) => {
      const look = (): void => {
        if (stopped) return;
        if (check()) resolve();
        else setImmediate(look);
      };
      look();
    }),
    ms,
    what,
  ).finally(() => {
    stopped = true;
  });
}

/** A polling session on `target`, its server-side socket and the URL of its requests. */
export async function openPolling(target: Target, query = ''): Promise<{ sid: string; session: AnySession; url: string }> {
  const connection = once<[AnySession]>(target.engine, 'connection');
  const { sid } = await handshake(target.base, query);
  const [session] = await connection;
  return { sid, session, url: `${target.base}?EIO=4&transport=polling&sid=${sid}` };
}

/** Starts a GET that the server holds, and waits until it does; `answered` settles when it is answered. */
export async function heldGet(session: AnySession, url: string): Promise<{ answered: Promise<Answer> }> {
  const answered = answer(url);
  await until(() => session.transport.writable, 3000, 'the GET to be held');
  return { answered };
}

/** A WebSocket-only session on `target` through a raw `ws` client (terminated after the test): its sid. */
export async function openWebSocket(
  t: TestContext,
  target: Target,
  options: WebSocket.ClientOptions = {},
): Promise<{ sid: string; ws: WebSocket }> {
  const ws = new WebSocket(`ws://127.0.0.1:${target.port}/engine.io/?EIO=4&transport=websocket`, options);
  t.after(() => ws.terminate());
  const [data] = await once<[Buffer]>(ws, 'message');
  return { sid: (JSON.parse(data.toString().slice(1)) as { sid: string }).sid, ws };
}
