// WebSocket transport: wraps one ws.WebSocket — the only file that knows ws.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { decodeTextPacket, encodePacketAsText, EnginePacketType, MessagePacket, type EnginePacket } from '../codec/engine-packet';
import { Transport } from './transport';

/** The payload size ws saw when it refused a message (read from its receiver when it has one). */
function refusedMessageSize(ws: WebSocket, limit: number): number | string {
  const receiver = (ws as unknown as { _receiver?: { _totalPayloadLength?: unknown; _compressed?: unknown } })._receiver;
  const size = receiver?._totalPayloadLength;
  if (typeof size !== 'number') return 'unknown';
  // a compressed message is refused while it inflates: only the compressed bytes are known
  return receiver?._compressed === true ? `>${limit} inflated from ${size}` : size;
}

export interface WebSocketTransportOptions {
  readonly maxHttpBufferSize: number;
  /** The client asked for binary as base64 text (`b64=1`). */
  readonly base64: boolean;
  /** Called when a message is refused for its size (for the log line); one function for every transport. */
  readonly onPayloadTooLarge: (size: number | string, limit: number, transport: WebSocketTransport) => void;
}

type WsWithOwner = WebSocket & { [kOwner]?: WebSocketTransport };
const kOwner = Symbol('transport');

/** What of ws's Sender (ws 8, lib/sender.js) tells that it has nothing queued or in progress. */
interface SenderState {
  /** 0 while idle; set while it compresses or reads a Blob, when later sends wait in `_queue`. */
  readonly _state: number;
  readonly _queue: readonly unknown[];
}

/**
 * ws's sender when frames may bypass it: no extension negotiated (permessage-deflate makes ws compress,
 * so frames must go through it) and a sender of the shape we know. Otherwise undefined: every write
 * then goes through ws.send, the public path.
 */
function bypassableSender(ws: WebSocket): SenderState | undefined {
  if (ws.extensions !== '') return undefined;
  const sender = (ws as unknown as { _sender?: Partial<SenderState> })._sender;
  if (!sender || typeof sender._state !== 'number' || !Array.isArray(sender._queue)) return undefined;
  return sender as SenderState;
}

/** One Engine.IO packet per WebSocket frame: text frames for text, binary frames for binary messages. */
export class WebSocketTransport extends Transport {
  readonly name = 'websocket' as const;
  readonly supportsBinary: boolean;
  private readonly ws: WebSocket;
  private readonly raw: Duplex;
  private readonly opts: WebSocketTransportOptions;
  /** Set when our frames may be written to `raw` directly (see bypassableSender). */
  private readonly sender: SenderState | undefined;
  /** The tick of this transport's last direct write (see endTick). */
  private lastTick = -1;
  /** Frames of later writes in that tick, written together when it ends. */
  private held: Buffer[] | undefined;
  private heldBytes = 0;

  constructor(ws: WebSocket, raw: Duplex, opts: WebSocketTransportOptions) {
    super();
    this.ws = ws;
    this.raw = raw;
    this.opts = opts;
    this.supportsBinary = !opts.base64;
    this.sender = bypassableSender(ws);
    this.writable = true;
    (ws as WsWithOwner)[kOwner] = this;
    ws.on('message', onWsMessage);
    ws.on('close', onWsClose);
    ws.on('error', onWsError);
    ws.on('ping', onWsPing);
    ws.on('pong', onWsPong);
    // the kernel took what ws buffered: the session may have room again
    (raw as Duplex & { [kOwner]?: WebSocketTransport })[kOwner] = this;
    raw.on('drain', onRawDrain);
  }

  onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.handler.onTransportPacket(this, { type: EnginePacketType.MESSAGE, data });
      return;
    }
    const packet = decodeTextPacket(data.toString('utf8'));
    if (!packet) {
      this.handler.onTransportError(this, 'parse error');
      return;
    }
    this.handler.onTransportPacket(this, packet);
  }

  onError(err: Error & { code?: string }): void {
    const { code } = err;
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' || code === 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH') {
      // the frame header announced (or inflating reached) more than the limit: refused before the payload
      this.opts.onPayloadTooLarge(refusedMessageSize(this.ws, this.opts.maxHttpBufferSize), this.opts.maxHttpBufferSize, this);
    } else if (typeof code === 'string' && code.startsWith('WS_ERR_')) {
      // ws refused a frame (bad UTF-8, opcode, mask or RSV bit, too many fragments) and has already sent
      // its close code (1002, 1007, 1008): the peer broke the protocol, a refusal to log and count
      this.handler.onTransportError(this, 'transport error', code, 'ERR_BAD_PACKET');
      return;
    }
    this.handler.onTransportError(this, 'transport error', err.message);
  }

  onClose(): void {
    this.reportClose();
  }

  override get bufferedBytes(): number {
    // without compression ws buffers nothing of its own: all of it is in the socket (its bufferedAmount)
    return this.sender ? this.raw.writableLength + this.heldBytes : this.ws.bufferedAmount;
  }

  onDrain(): void {
    if (!this.closed) this.handler.onTransportReady(this);
  }

  send(packets: readonly EnginePacket[]): void {
    const { ws } = this;
    if (ws.readyState !== ws.OPEN) return;
    const { sender, raw } = this;
    // ws's own writes (pongs, the close frame) leave at once while its sender is idle, so writing our
    // frames to the socket keeps them in order with ws's; a shared packet's frame is built once
    if (sender && sender._state === 0 && sender._queue.length === 0 && raw.writable) {
      const frame = packets.length === 1 ? frameOf(packets[0], this.supportsBinary) : framesOf(packets, this.supportsBinary);
      if (this.lastTick === tick) {
        // written to once this tick already (broadcasts in a burst): the rest leaves in one write at its end
        this.hold(frame);
        return;
      }
      // the first write of a tick leaves at once: a lone broadcast waits for nothing
      this.lastTick = tick;
      scheduleTickEnd();
      raw.write(frame);
      return;
    }
    this.sendThroughWs(packets);
  }

  private hold(frame: Buffer): void {
    if (this.held) {
      this.held.push(frame);
    } else {
      this.held = [frame];
      holding.push(this);
    }
    this.heldBytes += frame.length;
  }

  /** Writes the held frames, in one write; called when the tick ends and before any write through ws. */
  releaseHeld(): void {
    const { held } = this;
    if (!held) return;
    const bytes = this.heldBytes;
    this.held = undefined;
    this.heldBytes = 0;
    // a connection closed meanwhile takes no more data (ws sent or got a close frame: nothing may follow it)
    if (this.ws.readyState !== this.ws.OPEN || !this.raw.writable) return;
    this.raw.write(held.length === 1 ? held[0] : Buffer.concat(held, bytes));
  }

  /** The public path: ws frames (and compresses) each message. */
  private sendThroughWs(packets: readonly EnginePacket[]): void {
    const { ws } = this;
    this.releaseHeld();
    // a burst of frames leaves in one write
    const corked = packets.length > 1;
    if (corked) this.raw.cork();
    for (const packet of packets) {
      const { data } = packet;
      if (data !== undefined && typeof data !== 'string' && this.supportsBinary) ws.send(data, { binary: true });
      else ws.send(encodePacketAsText(packet), { binary: false });
    }
    if (corked) process.nextTick(uncork, this.raw);
  }

  close(onClose?: () => void, code?: number, reason?: string): void {
    // a bare close frame, as the official server sends (the client sees 1005), unless a code is given
    if (this.ws.readyState === this.ws.OPEN || this.ws.readyState === this.ws.CONNECTING) {
      // the close frame is the last thing written: held frames go first
      this.releaseHeld();
      if (code === undefined) this.ws.close();
      else this.ws.close(code, reason);
    }
    onClose?.();
  }

  /** A ping from the peer: counted against its budget, and answered only while it reads our writes. */
  onPing(data: Buffer): void {
    if (this.closed || this.handler.onControlFrame?.(this, data.length + 2) === false) return;
    if (this.bufferedBytes > this.opts.maxHttpBufferSize) return;
    this.releaseHeld();
    this.ws.pong(data);
  }

  onPong(data: Buffer): void {
    if (!this.closed) this.handler.onControlFrame?.(this, data.length + 2);
  }

  /** Ends the connection at once (a refused probe, a server shutting down without ceremony). */
  terminate(): void {
    this.ws.terminate();
  }
}

// --- ticks: a transport's first write in a turn of the event loop leaves at once; later writes in the
// same turn (broadcasts decoded from one read, or from several connections' reads) are held and leave
// together in one write when the turn's I/O callbacks are done (setImmediate: once per turn, not once
// per callback as process.nextTick would be) ---

/** Counts turns: bumped by endTick, which runs after any turn with a direct write. */
let tick = 0;
let tickEndScheduled = false;
/** Transports holding frames until the turn ends. */
let holding: WebSocketTransport[] = [];

function scheduleTickEnd(): void {
  if (tickEndScheduled) return;
  tickEndScheduled = true;
  setImmediate(endTick);
}

function endTick(): void {
  tickEndScheduled = false;
  tick++;
  const transports = holding;
  holding = [];
  for (const transport of transports) transport.releaseHeld();
}

// --- frames (RFC 6455 §5.2): final, unmasked (a server never masks), header and payload in one buffer ---

const OPCODE_TEXT = 0x1;
const OPCODE_BINARY = 0x2;
/** Set on a MessagePacket after its first write: a second write means it is shared, its frame is kept. */
const WRITTEN_ONCE = Buffer.alloc(0);

/** One frame for one packet; a MessagePacket's frame is kept from its second write on (a broadcast). */
function frameOf(packet: EnginePacket, supportsBinary: boolean): Buffer {
  if (!(packet instanceof MessagePacket)) return buildFrame(packet, supportsBinary);
  // a binary message's frame depends on the connection (binary, or base64 text for b64=1): keep only the binary one
  if (!supportsBinary && typeof packet.data !== 'string') return buildFrame(packet, false);
  const kept = packet.wire;
  if (kept !== undefined && kept !== WRITTEN_ONCE) return kept;
  // a packet written once (a direct emit) keeps no frame: it would live as long as the replay log holds it
  const frame = buildFrame(packet, supportsBinary);
  packet.wire = kept === undefined ? WRITTEN_ONCE : frame;
  return frame;
}

/** Several packets' frames, back to back in one buffer: one write keeps them in order, each its own frame. */
function framesOf(packets: readonly EnginePacket[], supportsBinary: boolean): Buffer {
  const frames = new Array<Buffer>(packets.length);
  let total = 0;
  for (let i = 0; i < packets.length; i++) {
    frames[i] = frameOf(packets[i], supportsBinary);
    total += frames[i].length;
  }
  return Buffer.concat(frames, total);
}

function buildFrame(packet: EnginePacket, supportsBinary: boolean): Buffer {
  const { data } = packet;
  if (data === undefined) return textFrame(packet.type, '', 0);
  if (typeof data === 'string') return textFrame(packet.type, data, packet instanceof MessagePacket ? packet.bytes : Buffer.byteLength(data));
  if (!supportsBinary) {
    const base64 = data.toString('base64');
    return textFrame('b', base64, base64.length);
  }
  const offset = headerLength(data.length);
  const frame = Buffer.allocUnsafe(offset + data.length);
  writeHeader(frame, OPCODE_BINARY, data.length);
  frame.set(data, offset);
  return frame;
}

/** A text frame holding `prefix` (one ASCII character: the packet type, or `b`) then `data` of `bytes` UTF-8 bytes. */
function textFrame(prefix: string, data: string, bytes: number): Buffer {
  const length = 1 + bytes;
  const offset = headerLength(length);
  const frame = Buffer.allocUnsafe(offset + length);
  writeHeader(frame, OPCODE_TEXT, length);
  frame[offset] = prefix.charCodeAt(0);
  if (bytes > 0) frame.write(data, offset + 1, bytes, 'utf8');
  return frame;
}

function headerLength(payload: number): number {
  return payload < 126 ? 2 : payload < 0x10000 ? 4 : 10;
}

/** FIN + opcode, then the payload length in 7 bits, or 126 + 16 bits, or 127 + 64 bits (network order). */
function writeHeader(frame: Buffer, opcode: number, payload: number): void {
  frame[0] = 0x80 | opcode;
  if (payload < 126) {
    frame[1] = payload;
  } else if (payload < 0x10000) {
    frame[1] = 126;
    frame.writeUInt16BE(payload, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(payload / 0x100000000), 2);
    frame.writeUInt32BE(payload >>> 0, 6);
  }
}

function onWsPing(this: WsWithOwner, data: Buffer): void {
  this[kOwner]?.onPing(data);
}

function onWsPong(this: WsWithOwner, data: Buffer): void {
  this[kOwner]?.onPong(data);
}

function onRawDrain(this: Duplex & { [kOwner]?: WebSocketTransport }): void {
  this[kOwner]?.onDrain();
}

function uncork(raw: Duplex): void {
  raw.uncork();
}

function onWsMessage(this: WsWithOwner, data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): void {
  const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
  this[kOwner]?.onMessage(buffer, isBinary);
}

function onWsClose(this: WsWithOwner): void {
  this[kOwner]?.onClose();
}

function onWsError(this: WsWithOwner, err: Error): void {
  this[kOwner]?.onError(err);
}
