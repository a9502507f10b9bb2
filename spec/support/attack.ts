// Attack suites: a target server with an echo handler and a log sink, raw TCP / HTTP / WebSocket frames
// written by hand, crash detectors, and assertStillServes (fresh official clients round-trip on both transports).
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import * as zlib from 'node:zlib';
import express from 'express';
import { socketio, type ServerOptions } from '../../lib/index';
import { closeClient, connectIo, until, type IoApp } from './io';
import { logSink, type LogSink } from './logs';
import { listen } from './server';
import { within } from './wait';

// --- the process under attack ---

interface CrashRecord {
  kind: 'uncaughtException' | 'unhandledRejection';
  error: unknown;
}

const crashes: CrashRecord[] = [];
let watching = false;

/**
 * Records every 'uncaughtException' and 'unhandledRejection' of this process (each test file runs in
 * a process of its own). Once installed they no longer kill the process, so assertNoCrash() must run:
 * assertStillServes does, and each attack file asserts it once more in its `after` hook.
 */
export function watchCrashes(): void {
  if (watching) return;
  watching = true;
  process.on('uncaughtException', (error) => crashes.push({ kind: 'uncaughtException', error }));
  process.on('unhandledRejection', (error) => crashes.push({ kind: 'unhandledRejection', error }));
}

/** Fails when a crash detector fired since the process started. */
export function assertNoCrash(): void {
  assert.deepEqual(
    crashes.map((c) => `${c.kind}: ${c.error instanceof Error ? (c.error.stack ?? c.error.message) : String(c.error)}`),
    [],
    'no uncaught exception nor unhandled rejection',
  );
}

// --- the target ---

export interface Target extends IoApp {
  sink: LogSink;
}

export interface TargetOptions {
  /** Express middleware mounted before io. */
  before?: express.RequestHandler[];
  /** Options of the node:http server (headersTimeout, requestTimeout, connectionsCheckingInterval…). */
  http?: http.ServerOptions;
}

/**
 * socketio(opts) in an Express app on 127.0.0.1 (recovery off, as startIo), logging into a sink at
 * `warn`, with an `echo` event that acks its arguments (what assertStillServes uses).
 */
export async function startTarget(t: TestContext, opts: ServerOptions = {}, mount: TargetOptions = {}): Promise<Target> {
  watchCrashes();
  const sink = logSink('warn');
  const app = express();
  for (const fn of mount.before ?? []) app.use(fn);
  const io = socketio({ reconnectTimeout: 0, logger: sink.logger, ...opts });
  app.use(io);
  const running = await listen(t, http.createServer(mount.http ?? {}, app));
  t.after(() => io.close());
  installEcho(io);
  return { ...running, io, app, sink };
}

/** `echo` acks its arguments: what assertStillServes round-trips. */
export function installEcho(io: IoApp['io']): void {
  io.on('connection', (socket) => {
    socket.on('echo', (...args: unknown[]) => {
      const ack = args.pop();
      if (typeof ack === 'function') (ack as (...a: unknown[]) => void)(...args);
    });
  });
}

export interface StillServesOptions {
  /** Local address the fresh clients connect from (e.g. '127.0.0.2' while 127.0.0.1 is rate limited). */
  localAddress?: string;
}

let probes = 0;

/**
 * The process is alive and unharmed: no crash detector fired, the HTTP server answers, and a FRESH
 * official socket.io-client completes an acknowledged round trip over polling, then over WebSocket.
 */
export async function assertStillServes(t: TestContext, url: string, opts: StillServesOptions = {}): Promise<void> {
  assertNoCrash();
  assert.doesNotThrow(() => process.kill(process.pid, 0), 'the process is alive');
  // an answer that opens no session: an unknown transport
  const plain = await httpRequest(`${url}/socket.io/?EIO=4&transport=nope`, { localAddress: opts.localAddress });
  assert.equal(plain.status, 400);
  assert.deepEqual(JSON.parse(plain.body), { code: 0, message: 'Transport unknown' });
  for (const transports of [['polling'], ['websocket']] as const) {
    const agent = opts.localAddress ? new http.Agent({ localAddress: opts.localAddress }) : undefined;
    const client = await connectIo(t, url, transports, agent ? { agent: agent as never } : {});
    const value = { n: ++probes, text: `still serving over ${transports[0]} é€😀`, list: [1, [2, [3]]] };
    const echoed: unknown = await within(client.emitWithAck('echo', value), 3000, `echo over ${transports[0]}`);
    assert.deepEqual(echoed, value, `round trip over ${transports[0]}`);
    closeClient(client);
    agent?.destroy();
  }
  assertNoCrash();
}

// --- log lines and counters ---

/** Warn lines (level 40) carrying `code`. */
export function warnsWith(sink: LogSink, code: string): Array<Record<string, unknown>> {
  return sink.lines.filter((line) => line.level === 40 && line.code === code);
}

/**
 * Waits until `count` warn lines carry `code` (and the engine counted as many), then checks that each
 * has `fields` (a function value is a predicate on the field).
 */
export async function assertRefusals(
  target: Pick<Target, 'sink' | 'io'>,
  code: string,
  count: number,
  fields: Record<string, unknown> = {},
): Promise<Array<Record<string, unknown>>> {
  const metrics = target.io.engine.metrics as Record<string, number | undefined>;
  await until(() => warnsWith(target.sink, code).length >= count && (metrics[code] ?? 0) >= count, 3000, `${count} × ${code} logged and counted`).catch(() => undefined);
  const lines = warnsWith(target.sink, code);
  assert.equal(lines.length, count, `${count} warn line(s) with ${code}, got ${JSON.stringify(lines)}`);
  assert.equal(metrics[code], count, `io.engine.metrics.${code}`);
  for (const line of lines) {
    for (const [key, expected] of Object.entries(fields)) {
      if (typeof expected === 'function') assert.ok((expected as (v: unknown) => boolean)(line[key]), `${code}: field ${key} = ${JSON.stringify(line[key])}`);
      else assert.deepEqual(line[key], expected, `${code}: field ${key}`);
    }
  }
  return lines;
}

// --- raw HTTP ---

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** One request through node:http on a connection of its own (no keep-alive reuse). */
export function httpRequest(
  url: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; localAddress?: string; ms?: number } = {},
): Promise<RawAnswer> {
  return within(
    new Promise<RawAnswer>((resolve, reject) => {
      const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false, localAddress: opts.localAddress }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(', ') : v;
          resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(opts.body);
    }),
    opts.ms ?? 5000,
    `${opts.method ?? 'GET'} ${url}`,
  );
}

/** A polling session opened by hand: its sid and the URL of its requests. */
export async function pollingSession(url: string, opts: { localAddress?: string; query?: string } = {}): Promise<{ sid: string; sessionUrl: string }> {
  const res = await httpRequest(`${url}/socket.io/?EIO=4&transport=polling${opts.query ?? ''}`, { localAddress: opts.localAddress });
  assert.equal(res.status, 200, `handshake: ${res.status} ${res.body}`);
  // a JSONP answer wraps the payload in a string literal: ___eio[j]("0{...}");
  const payload = res.body.startsWith('___eio') ? (JSON.parse(res.body.slice(res.body.indexOf('(') + 1, res.body.lastIndexOf(')'))) as string) : res.body;
  const { sid } = JSON.parse(payload.slice(1)) as { sid: string };
  return { sid, sessionUrl: `${url}/socket.io/?EIO=4&transport=polling&sid=${sid}` };
}

/** A polling session that has joined `/` (POST `40`, the GET that carries the CONNECT reply). */
export async function connectedPollingSession(url: string, opts: { localAddress?: string } = {}): Promise<{ sid: string; sessionUrl: string }> {
  const session = await pollingSession(url, opts);
  const post = await httpRequest(session.sessionUrl, { method: 'POST', body: '40', localAddress: opts.localAddress });
  assert.equal(post.body, 'ok');
  const reply = await httpRequest(session.sessionUrl, { localAddress: opts.localAddress });
  assert.match(reply.body, /^40\{"sid":/);
  return session;
}

export interface RawExchangeOptions {
  localAddress?: string;
  ms?: number;
}

/**
 * Writes `head` then `body` on a fresh TCP connection and parses the first response (head, then
 * Content-Length bytes, or whatever came until the close). Resolves as soon as it is whole.
 */
export function rawHttp(port: number, head: string, body: Buffer | string = '', opts: RawExchangeOptions = {}): Promise<RawAnswer & { socket: net.Socket }> {
  return within(
    new Promise<RawAnswer & { socket: net.Socket }>((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress: opts.localAddress }, () => {
        socket.write(head);
        if (body.length > 0) socket.write(body);
      });
      let buffer = Buffer.alloc(0);
      let closed = false;
      const check = (): void => {
        const parsed = parseResponse(buffer, closed);
        if (parsed) {
          socket.destroy();
          resolve({ ...parsed, socket });
        } else if (closed) {
          reject(new Error(`connection closed before a whole response: ${JSON.stringify(buffer.toString('latin1').slice(0, 200))}`));
        }
      };
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        check();
      });
      socket.on('close', () => {
        closed = true;
        check();
      });
      // the server may reset a connection it refused while we still write
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ECONNRESET' && err.code !== 'EPIPE') reject(err);
      });
    }),
    opts.ms ?? 5000,
    'raw HTTP exchange',
  );
}

function parseResponse(buffer: Buffer, closed: boolean): RawAnswer | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  const rest = buffer.subarray(end + 4);
  if (status === 101) return { status, headers, body: '' };
  const length = headers['content-length'];
  if (length !== undefined && rest.length >= Number(length)) return { status, headers, body: rest.subarray(0, Number(length)).toString('utf8') };
  if (headers['transfer-encoding'] === 'chunked') {
    const body = dechunk(rest);
    if (body !== undefined) return { status, headers, body };
  }
  if (length === undefined && closed) return { status, headers, body: rest.toString('utf8') };
  return undefined;
}

function dechunk(data: Buffer): string | undefined {
  const parts: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', i);
    if (eol === -1) return undefined;
    const size = parseInt(data.subarray(i, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return Buffer.concat(parts).toString('utf8');
    if (data.length < eol + 2 + size + 2) return undefined;
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
  }
}

/** The head of an HTTP/1.1 request to the target (Host set; Content-Length added when given). */
export function requestHead(method: string, path: string, headers: Record<string, string | number> = {}): string {
  const all: Record<string, string | number> = { Host: '127.0.0.1', ...headers };
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
}

// --- raw WebSocket ---

const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

export const Opcode = { CONTINUATION: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;

export interface FrameOptions {
  /** @default true */
  fin?: boolean;
  /** permessage-deflate's "compressed" bit. @default false */
  rsv1?: boolean;
  /** Client frames must be masked; a zero key leaves the payload as is (cheap for floods). @default 'zero' */
  mask?: 'zero' | 'random' | false;
}

/** One WebSocket frame, as a client writes it (RFC 6455 §5.2). */
export function encodeFrame(opcode: number, payload: Buffer | string = Buffer.alloc(0), opts: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const { fin = true, rsv1 = false, mask = 'zero' } = opts;
  const len = data.length;
  const lengthBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lengthBytes + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  head[1] = (mask ? 0x80 : 0) | (len < 126 ? len : len < 65536 ? 126 : 127);
  if (lengthBytes === 2) head.writeUInt16BE(len, 2);
  if (lengthBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask || mask === 'zero') return Buffer.concat([head, data]);
  const key = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  key.copy(head, 2 + lengthBytes);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([head, masked]);
}

export interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

export interface CloseInfo {
  /** The status of the server's close frame; undefined when it had none, or the TCP connection just ended. */
  code: number | undefined;
  reason: string;
  /** Whether a close frame came (false: the connection ended without one). */
  frame: boolean;
}

export interface UpgradeOptions {
  localAddress?: string;
  /** Extra request headers (e.g. Sec-WebSocket-Extensions). */
  headers?: Record<string, string>;
  /** Leave the socket paused after the 101: a peer that never reads. */
  paused?: boolean;
  ms?: number;
}

/**
 * A WebSocket client written by hand over net.Socket: it writes any frame, valid or not, and parses
 * the server's frames. Frames in are collected; `closed` settles with the server's close frame or
 * the end of the connection.
 */
export class RawWebSocket {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  readonly closed: Promise<CloseInfo>;
  private buffer: Buffer;
  private waiters: Array<() => void> = [];
  private closeInfo: CloseInfo | undefined;

  constructor(socket: net.Socket, rest: Buffer) {
    this.socket = socket;
    this.buffer = rest;
    let settle!: (info: CloseInfo) => void;
    this.closed = new Promise<CloseInfo>((resolve) => {
      settle = resolve;
    });
    const finish = (info: CloseInfo): void => {
      if (this.closeInfo) return;
      this.closeInfo = info;
      settle(info);
      this.wake();
    };
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.parse(finish);
    });
    socket.on('close', () => finish({ code: undefined, reason: '', frame: false }));
    socket.on('error', () => undefined);
    this.parse(finish);
  }

  private parse(finish: (info: CloseInfo) => void): void {
    for (;;) {
      const b = this.buffer;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let offset = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        offset = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        offset = 10;
      }
      if (b.length < offset + len) return;
      let payload = b.subarray(offset, offset + len);
      // a compressed frame (RSV1): offer server_no_context_takeover so that each inflates on its own
      if ((b[0] & 0x40) !== 0) payload = zlib.inflateRawSync(Buffer.concat([payload, DEFLATE_TAIL]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
      const frame: Frame = { fin: (b[0] & 0x80) !== 0, opcode: b[0] & 0x0f, payload };
      this.buffer = b.subarray(offset + len);
      this.frames.push(frame);
      if (frame.opcode === Opcode.CLOSE) {
        const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : undefined;
        finish({ code, reason: frame.payload.subarray(2).toString('utf8'), frame: true });
      }
      this.wake();
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves with the first text frame at or after index `from` matching `match`; bounded. */
  textFrame(match: (text: string) => boolean, ms = 3000, from = 0): Promise<string> {
    return within(
      new Promise<string>((resolve, reject) => {
        const look = (): void => {
          for (let i = from; i < this.frames.length; i++) {
            const f = this.frames[i];
            if (f.opcode === Opcode.TEXT && match(f.payload.toString('utf8'))) {
              resolve(f.payload.toString('utf8'));
              return;
            }
          }
          if (this.closeInfo) reject(new Error(`closed (${JSON.stringify(this.closeInfo)}) before the frame came`));
          else this.waiters.push(look);
        };
        look();
      }),
      ms,
      'a text frame',
    );
  }

  /** Writes one frame; returns socket.write's answer (false: the kernel buffer is full). */
  send(opcode: number, payload?: Buffer | string, opts?: FrameOptions): boolean {
    return this.socket.write(encodeFrame(opcode, payload, opts));
  }

  text(data: string): boolean {
    return this.send(Opcode.TEXT, data);
  }

  binary(data: Buffer): boolean {
    return this.send(Opcode.BINARY, data);
  }

  /** Writes pre-built bytes (many frames at once). */
  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  /** Resolves once the socket can take more writes, or is closed (never hangs on a peer that stopped reading). */
  drained(): Promise<unknown> {
    if (!this.socket.writableNeedDrain) return Promise.resolve();
    return Promise.race([new Promise((resolve) => this.socket.once('drain', resolve)), this.closed]);
  }

  /** Waits for the close, bounded. */
  waitClosed(ms = 3000): Promise<CloseInfo> {
    return within(this.closed, ms, 'the WebSocket close');
  }

  destroy(): void {
    this.socket.destroy();
  }
}

export interface UpgradeAnswer {
  status: number;
  headers: Record<string, string>;
  /** The refusal's body (non-101). */
  body: string;
  /** After a 101: the connection as a raw WebSocket. */
  ws?: RawWebSocket;
}

/** Sends a WebSocket upgrade request for `path` by hand; the answer, and the raw WebSocket after a 101. */
export function rawUpgrade(t: TestContext, port: number, path: string, opts: UpgradeOptions = {}): Promise<UpgradeAnswer> {
  const headers = {
    Host: `127.0.0.1:${port}`,
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...opts.headers,
  };
  const head = `GET ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
  return within(
    new Promise<UpgradeAnswer>((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', localAddress: opts.localAddress }, () => socket.write(head));
      t.after(() => socket.destroy());
      let buffer = Buffer.alloc(0);
      const onData = (chunk: Buffer): void => {
        buffer = Buffer.concat([buffer, chunk]);
        const parsed = parseResponse(buffer, false);
        if (!parsed) return;
        socket.removeListener('data', onData);
        socket.removeListener('close', onClose);
        if (parsed.status !== 101) {
          socket.destroy();
          resolve(parsed);
          return;
        }
        const rest = buffer.subarray(buffer.indexOf('\r\n\r\n') + 4);
        if (opts.paused) socket.pause();
        resolve({ ...parsed, ws: new RawWebSocket(socket, rest) });
      };
      const onClose = (): void => {
        const parsed = parseResponse(buffer, true);
        if (parsed) resolve(parsed);
        else reject(new Error(`upgrade: connection closed without an answer: ${JSON.stringify(buffer.toString('latin1'))}`));
      };
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.on('error', () => undefined);
    }),
    opts.ms ?? 5000,
    `upgrade ${path}`,
  );
}

/**
 * A WebSocket-only Engine.IO session through the raw client, joined to `/` unless `join` is false:
 * the raw WebSocket and the session id.
 */
export async function rawSocketIo(
  t: TestContext,
  port: number,
  opts: UpgradeOptions & { join?: boolean; query?: string } = {},
): Promise<{ ws: RawWebSocket; sid: string }> {
  const answer = await rawUpgrade(t, port, `/socket.io/?EIO=4&transport=websocket${opts.query ?? ''}`, opts);
  assert.equal(answer.status, 101, `upgrade refused: ${answer.status} ${answer.body}`);
  const ws = answer.ws as RawWebSocket;
  const open = await ws.textFrame((s) => s.startsWith('0'));
  const { sid } = JSON.parse(open.slice(1)) as { sid: string };
  if (opts.join !== false) {
    const from = ws.frames.length;
    ws.text('40');
    await ws.textFrame((s) => s.startsWith('40{'), 3000, from);
  }
  return { ws, sid };
}
