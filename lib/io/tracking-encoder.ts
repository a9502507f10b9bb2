// Wraps the codec's encoder: remembers, per encoded packet, what delivery needs (shared engine packets,
// bytes, recovery offset, ack id), so a broadcast is described once and not once per socket.
import { EnginePacketType, type EnginePacket } from '../codec/engine-packet';
import { PacketType, type EncodedPacket, type Encoder, type Packet } from '../codec/types';
import type { Offsets } from './offsets';

/** What delivery needs to know about one encoded packet. */
export interface PacketMeta {
  /** Engine.IO MESSAGE packets, shared by every recipient and never mutated. */
  readonly packets: readonly EnginePacket[];
  readonly bytes: number;
  /** Recovery offset the packet carries, if any. */
  readonly offset: number | undefined;
  /** Ack id of an EVENT that expects an answer. */
  readonly ackId: number | undefined;
  /** Whether it is kept for replay (events and acks; not CONNECT/DISCONNECT/CONNECT_ERROR). */
  readonly replayable: boolean;
}

export class TrackingEncoder implements Encoder {
  private readonly inner: Encoder;
  private readonly offsets: Offsets;
  private readonly metas = new WeakMap<EncodedPacket, PacketMeta>();

  constructor(inner: Encoder, offsets: Offsets) {
    this.inner = inner;
    this.offsets = offsets;
  }

  encode(packet: Packet): EncodedPacket {
    const encoded = this.inner.encode(packet);
    this.metas.set(encoded, this.describePacket(packet, encoded));
    return encoded;
  }

  /** The meta of something this encoder produced (or, for foreign arrays, what can be known). */
  describe(encoded: EncodedPacket): PacketMeta {
    let meta = this.metas.get(encoded);
    if (!meta) {
      meta = toMeta(encoded, undefined, undefined, true);
      this.metas.set(encoded, meta);
    }
    return meta;
  }

  private describePacket(packet: Packet, encoded: EncodedPacket): PacketMeta {
    const isEvent = packet.type === PacketType.EVENT || packet.type === PacketType.BINARY_EVENT;
    const isAck = packet.type === PacketType.ACK || packet.type === PacketType.BINARY_ACK;
    let offset: number | undefined;
    if (isEvent && packet.id === undefined && Array.isArray(packet.data)) offset = this.offsets.parse(packet.data[packet.data.length - 1]);
    return toMeta(encoded, offset, isEvent ? packet.id : undefined, isEvent || isAck);
  }
}

function toMeta(encoded: EncodedPacket, offset: number | undefined, ackId: number | undefined, replayable: boolean): PacketMeta {
  let bytes = 0;
  const packets: EnginePacket[] = [];
  for (const data of encoded) {
    bytes += typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    packets.push({ type: EnginePacketType.MESSAGE, data });
  }
  return { packets, bytes, offset, ackId, replayable };
}
