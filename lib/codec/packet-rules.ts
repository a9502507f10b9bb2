// Decode limits and the packet checks both codecs share: what a peer may send (../shared/PROTOCOL.md §2.6).
import { SocketIOError } from '../errors';
import { PacketType, RESERVED_EVENTS } from './types';

/** Bounds a decoder puts on what one peer may send. Every field is optional; see the defaults. */
export interface DecodeLimits {
  /** Binary attachments one packet may announce (JSON codec only). @default 10 (socket.io-parser's) */
  maxAttachments?: number;
  /**
   * Nesting depth of arrays and objects in a packet's payload, the outermost array or object counting 1
   * (`["ev",{"a":[1]}]` is 3 deep); checked before the payload is parsed. @default 32
   */
  maxDepth?: number;
  /** Event name length in UTF-16 code units. @default 256 */
  maxEventNameLength?: number;
  /** Namespace name length in UTF-16 code units, the leading `/` included. @default 256 */
  maxNamespaceLength?: number;
}

/** DecodeLimits with every field set. */
export type ResolvedDecodeLimits = Readonly<Required<DecodeLimits>>;

/** The defaults of DecodeLimits. */
export const DEFAULT_DECODE_LIMITS: ResolvedDecodeLimits = Object.freeze({
  maxAttachments: 10,
  maxDepth: 32,
  maxEventNameLength: 256,
  maxNamespaceLength: 256,
});

const LIMIT_NAMES = Object.keys(DEFAULT_DECODE_LIMITS) as Array<keyof DecodeLimits>;
/** Limits this module made: a codec resolves once, its decoders (one per connection) reuse the result. */
const resolved = new WeakSet<object>([DEFAULT_DECODE_LIMITS]);

/** Merges `input` over the defaults; throws ERR_INVALID_OPTION for a limit that is not a positive integer. */
export function resolveDecodeLimits(input?: DecodeLimits): ResolvedDecodeLimits {
  if (input === undefined) return DEFAULT_DECODE_LIMITS;
  if (resolved.has(input)) return input as ResolvedDecodeLimits;
  const out = { ...DEFAULT_DECODE_LIMITS };
  for (const name of LIMIT_NAMES) {
    const value = input[name];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new SocketIOError('ERR_INVALID_OPTION', name, 'a positive integer', String(value));
    }
    out[name] = value;
  }
  Object.freeze(out);
  resolved.add(out);
  return out;
}

/** Refuses a peer's packet: the connection layer closes that connection with ERR_BAD_PACKET. */
export function refuse(reason: string): never {
  throw new SocketIOError('ERR_BAD_PACKET', reason);
}

/** A plain object as JSON.parse or a msgpack map makes it (not an array, Buffer, Date…). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** An ack id: a safe non-negative integer. */
export function isAckId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Checks a decoded packet's payload and ack id against its type (types 5/6 already folded into 2/3).
 * Stricter than socket.io-parser: event names must be strings (no numbers), EVENT needs a payload, an ACK
 * needs its id, and only EVENT/ACK may carry an id.
 */
export function checkPacket(
  type: number,
  data: unknown,
  id: number | undefined,
  limits: ResolvedDecodeLimits,
): void {
  switch (type) {
    case PacketType.CONNECT:
      if (data !== undefined && !isPlainObject(data)) refuse('CONNECT payload must be an object');
      break;
    case PacketType.DISCONNECT:
      if (data !== undefined) refuse('DISCONNECT carries no payload');
      break;
    case PacketType.EVENT:
      checkEventPayload(data, limits);
      return;
    case PacketType.ACK:
      if (!Array.isArray(data)) refuse('ACK payload must be an array');
      if (id === undefined) refuse('ACK without an id');
      return;
    case PacketType.CONNECT_ERROR:
      if (typeof data !== 'string' && !isPlainObject(data)) refuse('CONNECT_ERROR payload must be a string or an object');
      break;
    default:
      refuse('unknown packet type');
  }
  if (id !== undefined) refuse('ack id on a packet that is not EVENT or ACK');
}

function checkEventPayload(data: unknown, limits: ResolvedDecodeLimits): void {
  if (!Array.isArray(data) || data.length === 0) refuse('EVENT payload must be a non-empty array');
  const name: unknown = data[0];
  if (typeof name !== 'string') refuse('event name must be a string');
  if (name.length > limits.maxEventNameLength) refuse('event name longer than maxEventNameLength');
  if (isReservedEvent(name)) refuse('reserved event name');
}

/** RESERVED_EVENTS by name length: a peer's event name is compared with at most two, never hashed. */
const RESERVED_BY_LENGTH: Array<readonly string[] | undefined> = [];
for (const name of RESERVED_EVENTS) ((RESERVED_BY_LENGTH[name.length] ??= []) as string[]).push(name);

/** Whether `name` is one of RESERVED_EVENTS. */
export function isReservedEvent(name: string): boolean {
  const candidates = RESERVED_BY_LENGTH[name.length];
  return candidates !== undefined && candidates.includes(name);
}
