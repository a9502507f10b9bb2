// msgpack codec, wire-compatible with socket.io-msgpack-parser: one map {type, data, nsp, id?} per packet.
import { EventEmitter } from 'node:events';
import { MsgpackReader } from './msgpack-reader';
import { acquireWriter, releaseWriter } from './msgpack-writer';
import { checkPacket, isAckId, refuse, resolveDecodeLimits, type DecodeLimits, type ResolvedDecodeLimits } from './packet-rules';
import { PacketType, type Codec, type Decoder, type EncodedPacket, type Encoder, type Packet } from './types';

/**
 * Encodes each packet as ONE msgpack map `{type, data, nsp, id}` (keys absent when undefined), sent as one
 * binary message (../shared/PROTOCOL.md §5). Binary stays inline as msgpack bin; types 5/6 become 2/3.
 * Stateless; never mutates the packet.
 */
export class MsgpackEncoder implements Encoder {
  /** @throws RangeError for data nested deeper than 1000 levels (or circular), TypeError for what msgpack cannot hold. */
  encode(packet: Packet): EncodedPacket {
    let type: number = packet.type;
    if (type === PacketType.BINARY_EVENT) type = PacketType.EVENT;
    else if (type === PacketType.BINARY_ACK) type = PacketType.ACK;
    const { data, id } = packet;
    const writer = acquireWriter();
    try {
      writer.mapHeader(2 + (data === undefined ? 0 : 1) + (id == null ? 0 : 1));
      writer.str('type');
      writer.value(type, 0);
      if (data !== undefined) {
        writer.str('data');
        // depth counts from the payload, as in the JSON codec
        writer.value(data, 0);
      }
      writer.str('nsp');
      writer.str(packet.nsp);
      if (id != null) {
        writer.str('id');
        writer.value(id, 0);
      }
      return [writer.finish()];
    } finally {
      releaseWriter(writer);
    }
  }
}

/**
 * Decodes one connection's binary messages, each one whole packet. Refuses (SocketIOError ERR_BAD_PACKET)
 * what socket.io-msgpack-parser refuses and what the JSON decoder refuses (packet-rules.ts), plus text
 * messages, non-string map keys, unknown ext types, truncated or trailing bytes. Keys other than type,
 * data, nsp and id (the client adds `options`) are read, bounded, and dropped.
 */
export class MsgpackDecoder extends EventEmitter implements Decoder {
  private readonly limits: ResolvedDecodeLimits;
  private readonly reader = new MsgpackReader();

  constructor(limits?: DecodeLimits) {
    super();
    this.limits = resolveDecodeLimits(limits);
  }

  add(chunk: unknown): void {
    let buf: Buffer;
    if (Buffer.isBuffer(chunk)) buf = chunk;
    else if (chunk instanceof ArrayBuffer) buf = Buffer.from(chunk);
    else if (ArrayBuffer.isView(chunk)) buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    else return refuse('msgpack packets travel as binary messages');
    const packet = this.decode(buf);
    this.emit('decoded', packet);
  }

  /** Nothing is kept between messages. */
  destroy(): void {
    this.reader.clear();
  }

  private decode(buf: Buffer): Packet {
    const reader = this.reader;
    // the packet map encloses the payload: one more level than maxDepth counts
    reader.reset(buf, this.limits.maxDepth + 1);
    try {
      const length = reader.mapHeader();
      if (length < 0) refuse('msgpack packet is not a map');
      let type: unknown;
      let data: unknown;
      let nsp: unknown;
      let id: unknown;
      let seen = 0;
      for (let i = 0; i < length; i++) {
        const key = reader.key();
        const bit = keyBit(key);
        if (bit !== 0) {
          if ((seen & bit) !== 0) refuse(`msgpack packet repeats "${key}"`);
          seen |= bit;
        }
        const value = reader.value(1);
        if (bit === 1) type = value;
        else if (bit === 2) data = value;
        else if (bit === 4) nsp = value;
        else if (bit === 8) id = value;
      }
      if (!reader.atEnd) refuse('trailing bytes after the msgpack packet');
      return this.toPacket(type, data, nsp, id);
    } finally {
      reader.clear();
    }
  }

  private toPacket(type: unknown, data: unknown, nsp: unknown, id: unknown): Packet {
    // only types 0-4 exist here: binary travels inline (socket.io-msgpack-parser's PacketType)
    if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > PacketType.CONNECT_ERROR) {
      refuse('unknown packet type');
    }
    if (typeof nsp !== 'string' || nsp.charCodeAt(0) !== 47) refuse('namespace must be a string starting with /');
    if (nsp.length > this.limits.maxNamespaceLength) refuse('namespace longer than maxNamespaceLength');
    const ackId = id === undefined || isAckId(id) ? id : refuse('ack id is not a safe non-negative integer');
    checkPacket(type, data, ackId, this.limits);
    const packet: Packet = ackId === undefined ? { type: type as PacketType, nsp } : { type: type as PacketType, nsp, id: ackId };
    if (data !== undefined) packet.data = data;
    return packet;
  }
}

/** The packet map's keys, one bit each (a repeated one is refused); 0 for keys that are dropped. */
function keyBit(key: string): number {
  switch (key) {
    case 'type':
      return 1;
    case 'data':
      return 2;
    case 'nsp':
      return 4;
    case 'id':
      return 8;
    default:
      return 0;
  }
}

/** The msgpack codec: a shared MsgpackEncoder and a MsgpackDecoder per connection under `limits`. */
export function msgpackCodec(limits?: DecodeLimits): Codec {
  const resolved = resolveDecodeLimits(limits);
  return { encoder: sharedEncoder, createDecoder: () => new MsgpackDecoder(resolved) };
}

const sharedEncoder = new MsgpackEncoder();
