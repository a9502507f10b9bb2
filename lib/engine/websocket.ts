// WebSocket transport: wraps one ws.WebSocket — the only file that knows ws.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { decodeTextPacket, encodePacketAsText, EnginePacketType, type EnginePacket } from '../codec/engine-packet';
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
  /** Called when a message is refused for its size (for the log line). */
  readonly onPayloadTooLarge: (size: number | string, limit: number) => void;
}

type WsWithOwner = WebSocket & { [kOwner]?: WebSocketTransport };
const kOwner = Symbol('transport');

/** One Engine.IO packet per WebSocket frame: text frames for text, binary frames for binary messages. */
export class WebSocketTransport extends Transport {
  readonly name = 'websocket' as const;
  readonly supportsBinary: boolean;
  private readonly ws: WebSocket;
  private readonly raw: Duplex;
  private readonly opts: WebSocketTransportOptions;

  constructor(ws: WebSocket, raw: Duplex, opts: WebSocketTransportOptions) {
    super();
    this.ws = ws;
    this.raw = raw;
    this.opts = opts;
    this.supportsBinary = !opts.base64;
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
      this.opts.onPayloadTooLarge(refusedMessageSize(this.ws, this.opts.maxHttpBufferSize), this.opts.maxHttpBufferSize);
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
    return this.ws.bufferedAmount;
  }

  onDrain(): void {
    if (!this.closed) this.handler.onTransportReady(this);
  }

  send(packets: readonly EnginePacket[]): void {
    const { ws } = this;
    if (ws.readyState !== ws.OPEN) return;
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
      if (code === undefined) this.ws.close();
      else this.ws.close(code, reason);
    }
    onClose?.();
  }

  /** A ping from the peer: counted against its budget, and answered only while it reads our writes. */
  onPing(data: Buffer): void {
    if (this.closed || this.handler.onControlFrame?.(this, data.length + 2) === false) return;
    if (this.ws.bufferedAmount > this.opts.maxHttpBufferSize) return;
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
