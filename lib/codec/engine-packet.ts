// Engine.IO v4 packets and payloads: one type digit + data, `b`+base64 for binary, \x1e between packets.

/** Engine.IO packet types and their wire digits (../shared/PROTOCOL.md §1.3). */
export const EnginePacketType = {
  OPEN: '0',
  CLOSE: '1',
  PING: '2',
  PONG: '3',
  MESSAGE: '4',
  UPGRADE: '5',
  NOOP: '6',
} as const;
export type EnginePacketType = (typeof EnginePacketType)[keyof typeof EnginePacketType];

export type RawData = string | Buffer;

/** One Engine.IO packet. Binary data only ever travels in a MESSAGE. */
export interface EnginePacket {
  readonly type: EnginePacketType;
  readonly data?: RawData;
}

/**
 * A MESSAGE packet the Socket.IO layer built (io/tracking-encoder.ts), possibly written to many
 * connections (a broadcast): its UTF-8 size is counted once, and a transport may keep here the wire
 * form it built for it (engine/websocket.ts: the WebSocket frame), so later recipients get it ready-made.
 * `type` and `data` never change; `wire` is derived from them and only ever set by a transport.
 */
export class MessagePacket implements EnginePacket {
  readonly type = EnginePacketType.MESSAGE;
  readonly data: RawData;
  /** Bytes of `data` (UTF-8 for text). */
  readonly bytes: number;
  /** @internal a transport's cache of its wire form: unset, a marker after the first write, then the form */
  wire: Buffer | undefined = undefined;

  constructor(data: RawData, bytes: number) {
    this.data = data;
    this.bytes = bytes;
  }
}

/** Joins packets of a polling payload (never trailing). */
export const RECORD_SEPARATOR = '\x1e';

const TYPE_DIGITS = new Set<string>(Object.values(EnginePacketType));

/** Text form of a packet: binary becomes `b` + base64 (polling, and WebSocket with b64=1). */
export function encodePacketAsText(packet: EnginePacket): string {
  const { data } = packet;
  if (data === undefined) return packet.type;
  if (typeof data === 'string') return packet.type + data;
  return 'b' + data.toString('base64');
}

/** Polling payload: the text forms joined by the record separator. */
export function encodePayload(packets: readonly EnginePacket[]): string {
  if (packets.length === 1) return encodePacketAsText(packets[0]);
  let out = '';
  for (let i = 0; i < packets.length; i++) {
    if (i > 0) out += RECORD_SEPARATOR;
    out += encodePacketAsText(packets[i]);
  }
  return out;
}

/** Decodes one text packet; `undefined` when it is not a valid Engine.IO packet. */
export function decodeTextPacket(text: string): EnginePacket | undefined {
  const first = text.charAt(0);
  if (first === 'b') {
    const base64 = text.slice(1);
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return undefined;
    return { type: EnginePacketType.MESSAGE, data: Buffer.from(base64, 'base64') };
  }
  if (!TYPE_DIGITS.has(first)) return undefined;
  const type = first as EnginePacketType;
  if (text.length === 1) return { type };
  return { type, data: text.slice(1) };
}

/** Decodes a polling payload; `undefined` as soon as one packet is invalid (the session then closes). */
export function decodePayload(payload: string): EnginePacket[] | undefined {
  const parts = payload.split(RECORD_SEPARATOR);
  const packets: EnginePacket[] = [];
  for (const part of parts) {
    const packet = decodeTextPacket(part);
    if (!packet) return undefined;
    packets.push(packet);
  }
  return packets;
}

/** Bytes a packet weighs (type + data; text counted in UTF-16 units): what the inbound budget takes. */
export function packetSize(packet: EnginePacket): number {
  const { data } = packet;
  return 1 + (data === undefined ? 0 : data.length);
}

/** Normalises what an app may send as binary into a Buffer without copying. */
export function toBuffer(data: ArrayBuffer | ArrayBufferView): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
