// Socket.IO packet types and the Codec interface: all that io/ and adapter/ know of codecs.

/** Socket.IO v5 packet types (../shared/PROTOCOL.md §2.1). */
export const PacketType = {
  CONNECT: 0,
  DISCONNECT: 1,
  EVENT: 2,
  ACK: 3,
  CONNECT_ERROR: 4,
  BINARY_EVENT: 5,
  BINARY_ACK: 6,
} as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

/** One Socket.IO packet, as socket.io-parser shapes it (official adapters build and read these). */
export interface Packet {
  type: PacketType;
  nsp: string;
  data?: unknown;
  id?: number;
  attachments?: number;
}

/** What one encoded packet becomes: Engine.IO messages, text first, then binary attachments. */
export type EncodedPacket = Array<string | Buffer>;

/** Encodes packets; shared by every connection, so it must be stateless. */
export interface Encoder {
  encode(packet: Packet): EncodedPacket;
}

/**
 * Decodes one connection's incoming Engine.IO messages into packets; stateful (binary attachments may
 * arrive in later messages). `add` throws on malformed input; the connection is then closed.
 * Same shape as socket.io-parser's Decoder, so its and socket.io-msgpack-parser's plug in.
 */
export interface Decoder {
  add(chunk: unknown): void;
  destroy(): void;
  on(event: 'decoded', listener: (packet: Packet) => void): unknown;
}

/** The `codec` option (the seed's Codec): a shared encoder and a decoder per connection. */
export interface Codec {
  readonly encoder: Encoder;
  createDecoder(): Decoder;
}

/** Event names the protocol keeps for itself: refused when decoded, refused by emit(). */
export const RESERVED_EVENTS: ReadonlySet<string> = new Set([
  'connect',
  'connect_error',
  'disconnect',
  'disconnecting',
  'newListener',
  'removeListener',
]);
