// Wraps the codec's encoder: remembers, per encoded packet, what delivery needs (shared engine packets,
// bytes, recovery offset, ack id), so a broadcast is described once and not once per socket; the
// adapters' view of it stamps broadcasts with this node's recovery offset.
import { MessagePacket } from '../codec/engine-packet';
import { PacketType, type EncodedPacket, type Encoder, type Packet } from '../codec/types';
import type { Offsets } from './offsets';

/**
 * What delivery needs to know about one encoded packet; one per encoded packet, shared by all its
 * recipients (the replay logs keep this record, not a copy per socket).
 */
export interface PacketMeta {
  /** The encoded Engine.IO messages (text first, then binary attachments). */
  readonly messages: EncodedPacket;
  /** Engine.IO MESSAGE packets, shared by every recipient and never mutated. */
  readonly packets: readonly MessagePacket[];
  /** Bytes of the messages (text as UTF-8). */
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
  private readonly metas: MetaMemory;
  private readonly stamps: boolean;
  /** Told of every broadcast this encoder stamps (a shared session store logs it). */
  recorder: { stamped(packet: Packet, messages: EncodedPacket, offset: number): void } | undefined;

  constructor(inner: Encoder, offsets: Offsets, stamps = false, metas = new MetaMemory()) {
    this.inner = inner;
    this.offsets = offsets;
    this.stamps = stamps;
    this.metas = metas;
  }

  /**
   * The same encoder (one memory of metas) that appends a fresh recovery offset to each event without
   * an ack it encodes: what adapters get as `nsp.server.encoder`. A broadcast is stamped on each node
   * when that node encodes it for its own sockets, so what travels between nodes (Redis, IPC) carries
   * no offset: another node's clients, ours or socket.io's, only ever see offsets of the node they are
   * connected to. The packet's data is extended in place, as socket.io's session-aware adapter does, so
   * `onAnyOutgoing` listeners see the offset.
   */
  withOffsets(): TrackingEncoder {
    return new TrackingEncoder(this.inner, this.offsets, true, this.metas);
  }

  /** Encodes, and remembers the meta for describe(): adapters hand only the encoded array back. */
  encode(packet: Packet): EncodedPacket {
    const meta = this.encodeMeta(packet);
    this.metas.remember(meta);
    return meta.messages;
  }

  /** Encodes a packet for one connection: its meta, with nothing remembered (nobody asks for it again). */
  encodeMeta(packet: Packet): PacketMeta {
    if (this.stamps && isEvent(packet) && packet.id === undefined && Array.isArray(packet.data)) {
      const offset = this.offsets.next();
      packet.data.push(offset.text);
      const meta = toMeta(this.inner.encode(packet), offset.value, undefined, true);
      this.recorder?.stamped(packet, meta.messages, offset.value); // recovery across nodes: the node's log
      return meta;
    }
    return this.describePacket(packet, this.inner.encode(packet));
  }

  /** The meta of something this encoder produced (or, for foreign arrays, what can be known). */
  describe(encoded: EncodedPacket): PacketMeta {
    const { metas } = this;
    // a broadcast asks once per recipient, in a row: the last answer first, the WeakMap after
    if (encoded === metas.lastEncoded) return metas.lastMeta as PacketMeta;
    return metas.get(encoded) ?? metas.remember(toMeta(encoded, undefined, undefined, true));
  }

  private describePacket(packet: Packet, encoded: EncodedPacket): PacketMeta {
    const event = isEvent(packet);
    const isAck = packet.type === PacketType.ACK || packet.type === PacketType.BINARY_ACK;
    let offset: number | undefined;
    if (event && packet.id === undefined && Array.isArray(packet.data)) offset = this.offsets.parse(packet.data[packet.data.length - 1]);
    return toMeta(encoded, offset, event ? packet.id : undefined, event || isAck);
  }
}

/** Metas by encoded array, shared by an encoder and its withOffsets() view; the last one also kept at hand. */
class MetaMemory {
  private readonly metas = new WeakMap<EncodedPacket, PacketMeta>();
  lastEncoded: EncodedPacket | undefined = undefined;
  lastMeta: PacketMeta | undefined = undefined;

  get(encoded: EncodedPacket): PacketMeta | undefined {
    const meta = this.metas.get(encoded);
    if (meta) {
      this.lastEncoded = encoded;
      this.lastMeta = meta;
    }
    return meta;
  }

  remember(meta: PacketMeta): PacketMeta {
    this.metas.set(meta.messages, meta);
    this.lastEncoded = meta.messages;
    this.lastMeta = meta;
    return meta;
  }
}

function isEvent(packet: Packet): boolean {
  return packet.type === PacketType.EVENT || packet.type === PacketType.BINARY_EVENT;
}

function toMeta(messages: EncodedPacket, offset: number | undefined, ackId: number | undefined, replayable: boolean): PacketMeta {
  let bytes = 0;
  const packets = new Array<MessagePacket>(messages.length);
  for (let i = 0; i < messages.length; i++) {
    const data = messages[i];
    // counted once here: the queue bounds and the WebSocket frame header both use it
    const size = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    bytes += size;
    packets[i] = new MessagePacket(data, size);
  }
  return { messages, packets, bytes, offset, ackId, replayable };
}
