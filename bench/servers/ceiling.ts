// Server (c): the raw ceiling. node:http + ws speaking the same wire protocol as ours, byte for byte
// (handshake, CONNECT reply with pid, recovery offset on every event without ack), with the least work a
// conforming server with a JavaScript event API can do: each inbound packet parsed with JSON.parse once,
// each reply encoded with JSON.stringify once, a broadcast encoded once and the same pre-built WebSocket
// frame written to every socket. No emitters, rooms, middleware, replay log or per-socket timers; one
// global heartbeat timer. Only the default namespace exists.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import express from 'express';
import { nanoid } from 'nanoid';
import { WebSocketServer, type WebSocket } from 'ws';
// the one thing taken from lib/: the id length, so that the bytes stay ours as lib/ changes it
import { ID_LENGTH } from '../../lib/util/ids';
import { serve } from './control';

const PATH = '/socket.io/';
const PING_INTERVAL_MS = 25000;
const RS = '\x1e';

/** Recovery offsets in ours' format: `<8 hex digits per process>.<counter base 36>`. */
const epoch = randomBytes(4).toString('hex') + '.';
let counter = 0;

function openPacket(sid: string, upgrades: string): string {
  return `0{"sid":"${sid}","upgrades":${upgrades},"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`;
}

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
/** ws's frame builder (exported at runtime, not in its type definitions). */
const { Sender } = require('ws') as { Sender: { frame(data: Buffer, options: FrameOptions): Buffer[] } };

/** One unmasked text frame holding `text`, header and payload in one buffer. */
function textFrame(text: string): Buffer {
  const parts = Sender.frame(Buffer.from(text), { fin: true, opcode: 1, mask: false, readOnly: false, rsv1: false });
  return parts.length === 1 ? parts[0] : Buffer.concat(parts);
}
const PING_FRAME = textFrame('2');

interface CeilingSocket extends WebSocket {
  alive: boolean;
  _socket: Duplex;
}

interface PollSession {
  readonly sid: string;
  queue: string[];
  res: ServerResponse | undefined;
  alive: boolean;
}

const wsAll = new Set<CeilingSocket>();
const wsJoined = new Set<CeilingSocket>();
const polls = new Map<string, PollSession>();
const pollJoined = new Set<PollSession>();

/**
 * One Socket.IO packet (the Engine.IO text, `4` included). Returns the reply for this connection, if
 * any; CONNECT and DISCONNECT add `member` to / remove it from `joined`, the default namespace.
 */
function onSioPacket<T>(text: string, joined: Set<T>, member: T): string | undefined {
  const type = text.charCodeAt(1);
  if (type === 0x30 /* CONNECT */) {
    if (text.charCodeAt(2) === 0x2f /* '/' */) return `44${text.slice(2, text.indexOf(',') + 1)}{"message":"Invalid namespace"}`;
    if (text.length > 2) JSON.parse(text.slice(2)); // the auth payload, parsed as any server must
    joined.add(member);
    return `40{"sid":"${nanoid(ID_LENGTH)}","pid":"${nanoid(ID_LENGTH)}"}`;
  }
  if (type === 0x31 /* DISCONNECT */) {
    joined.delete(member);
    return undefined;
  }
  if (type !== 0x32 /* EVENT */) return undefined;
  let i = 2;
  while (i < text.length && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
  const args = JSON.parse(text.slice(i)) as unknown[];
  if (args[0] === 'echo' && i > 2) return `43${text.slice(2, i)}${JSON.stringify(args.slice(1))}`;
  if (args[0] === 'bcast') broadcast(args[1]);
  return undefined;
}

/** Encodes once, writes the same frame (WebSocket) or the same text (polling) to every member. */
function broadcast(data: unknown): void {
  const text = '4' + '2' + JSON.stringify(['tick', data, epoch + (++counter).toString(36)]);
  const frame = textFrame(text);
  for (const ws of wsJoined) if (ws._socket.writable) ws._socket.write(frame);
  for (const session of pollJoined) pollSend(session, text);
}

// --- WebSocket ---

function onWsMessage(this: CeilingSocket, data: Buffer): void {
  const first = data[0];
  if (first === 0x33 /* pong */) {
    this.alive = true;
    return;
  }
  if (first !== 0x34 /* message */) {
    if (first === 0x31 /* close */) this.close();
    return;
  }
  const reply = onSioPacket(data.toString(), wsJoined, this);
  if (reply !== undefined) this.send(reply);
}

function onWsClose(this: CeilingSocket): void {
  wsAll.delete(this);
  wsJoined.delete(this);
}

const wss = new WebSocketServer({ noServer: true, clientTracking: false, perMessageDeflate: false, maxPayload: 1e6 });

function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
  if (!(req.url ?? '').startsWith(PATH)) {
    socket.destroy();
    return;
  }
  wss.handleUpgrade(req, socket, head, (client) => {
    const ws = client as CeilingSocket;
    ws.alive = true;
    wsAll.add(ws);
    ws.on('message', onWsMessage as (this: WebSocket, data: Buffer) => void);
    ws.on('close', onWsClose as (this: WebSocket) => void);
    ws.on('error', onWsClose as (this: WebSocket) => void);
    ws.send(openPacket(nanoid(ID_LENGTH), '[]'));
  });
}

// --- long-polling ---

function answer(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function pollSend(session: PollSession, text: string): void {
  session.queue.push(text);
  const res = session.res;
  if (!res) return;
  session.res = undefined;
  const body = session.queue.length === 1 ? session.queue[0] : session.queue.join(RS);
  session.queue = [];
  answer(res, 200, 'text/plain; charset=UTF-8', body);
}

function pollClose(session: PollSession): void {
  polls.delete(session.sid);
  pollJoined.delete(session);
  if (session.res) pollSend(session, '6');
}

function onPollBody(session: PollSession, body: string): void {
  for (const packet of body.split(RS)) {
    const type = packet.charCodeAt(0);
    if (type === 0x33) session.alive = true;
    else if (type === 0x31) pollClose(session);
    else if (type === 0x34) {
      const reply = onSioPacket(packet, pollJoined, session);
      if (reply !== undefined) pollSend(session, reply);
    }
  }
}

function onRequest(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? '/';
  if (!url.startsWith(PATH)) {
    answer(res, 404, 'text/plain', 'Not Found');
    return;
  }
  const query = new URLSearchParams(url.slice(url.indexOf('?') + 1));
  const sid = query.get('sid');
  if (!sid) {
    const session: PollSession = { sid: nanoid(ID_LENGTH), queue: [], res: undefined, alive: true };
    polls.set(session.sid, session);
    answer(res, 200, 'text/plain; charset=UTF-8', openPacket(session.sid, '["websocket"]'));
    return;
  }
  const session = polls.get(sid);
  if (!session) {
    answer(res, 400, 'application/json', '{"code":1,"message":"Session ID unknown"}');
    return;
  }
  if (req.method === 'GET') {
    if (session.queue.length > 0) {
      const body = session.queue.join(RS);
      session.queue = [];
      answer(res, 200, 'text/plain; charset=UTF-8', body);
    } else {
      session.res = res;
      req.on('close', () => {
        if (session.res === res && !res.writableEnded) pollClose(session);
      });
    }
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    onPollBody(session, chunks.length === 1 ? chunks[0].toString() : Buffer.concat(chunks).toString());
    answer(res, 200, 'text/html', 'ok');
  });
}

// --- heartbeat: one timer for every connection ---

setInterval(() => {
  for (const ws of wsAll) {
    if (!ws.alive) {
      ws.terminate();
      continue;
    }
    ws.alive = false;
    if (ws._socket.writable) ws._socket.write(PING_FRAME);
  }
  for (const session of polls.values()) {
    if (!session.alive) {
      pollClose(session);
      continue;
    }
    session.alive = false;
    pollSend(session, '2');
  }
}, PING_INTERVAL_MS).unref();

// BENCH_CEILING_EXPRESS=1: the same handler as the only middleware of an Express app, so the difference
// is what Express costs per HTTP request (WebSocket upgrades still go straight to the `upgrade` listener)
const viaExpress = process.env.BENCH_CEILING_EXPRESS === '1';
const server = createServer(viaExpress ? express().use(onRequest) : onRequest);
server.on('upgrade', onUpgrade);

serve({
  name: viaExpress ? 'ceiling+express' : 'ceiling',
  server,
  count: () => wsJoined.size + pollJoined.size,
  versions: { ws: (require('ws/package.json') as { version: string }).version },
  notes: ['node:http + ws, same bytes as ours (pid, offsets), JSON.parse/stringify once per packet, one pre-built frame per broadcast'],
});
