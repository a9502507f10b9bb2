// Default Socket.IO codec: JSON + binary placeholders, depth and attachment caps (socket.io-parser's wire).
import { EventEmitter } from 'node:events';
import { checkPacket, refuse, resolveDecodeLimits, type DecodeLimits, type ResolvedDecodeLimits } from './packet-rules';
import { PacketType, type Codec, type Decoder, type EncodedPacket, type Encoder, type Packet } from './types';

export { DEFAULT_DECODE_LIMITS, type DecodeLimits } from './packet-rules';

/** Nesting the encoder accepts in app data before it gives up (circular data ends here too). */
export const MAX_ENCODE_DEPTH = 1000;

const TYPE_DIGITS = ['0', '1', '2', '3', '4', '5', '6'];

/**
 * Encodes packets as socket.io-parser does: `<type>[<n>-][<nsp>,][<id>][<JSON>]`, binary (Buffer,
 * ArrayBuffer, typed arrays, anywhere in an EVENT/ACK payload) replaced depth-first by
 * `{"_placeholder":true,"num":N}` and sent after the text as Buffers. Stateless; never mutates the packet.
 */
export class JsonEncoder implements Encoder {
  /**
   * @throws RangeError for data nested deeper than MAX_ENCODE_DEPTH (or circular), TypeError for a Blob
   *   (it cannot be read synchronously) or what JSON.stringify refuses (BigInt).
   */
  encode(packet: Packet): EncodedPacket {
    let type: number = packet.type;
    const out: EncodedPacket = [''];
    let payload = packet.data;
    if (payload != null) {
      if (type === PacketType.EVENT || type === PacketType.BINARY_EVENT) {
        payload = strip(payload, out, 0, '');
        type = out.length > 1 ? PacketType.BINARY_EVENT : PacketType.EVENT;
      } else if (type === PacketType.ACK || type === PacketType.BINARY_ACK) {
        payload = strip(payload, out, 0, '');
        type = out.length > 1 ? PacketType.BINARY_ACK : PacketType.ACK;
      } else {
        // other types carry no attachments (socket.io-parser JSON-encodes a Buffer there): bound depth only
        strip(payload, null, 0, '');
      }
    }
    let text = TYPE_DIGITS[type] ?? String(type);
    if (out.length > 1) text += out.length - 1 + '-';
    if (packet.nsp && packet.nsp !== '/') text += packet.nsp + ',';
    if (packet.id != null) text += packet.id;
    if (payload != null) text += JSON.stringify(payload);
    out[0] = text;
    return out;
  }
}

/**
 * Returns `value` itself when it holds no binary, else a copy (copy-on-write: only the containers on the
 * path to a binary are copied) with placeholders, the binaries appended to `out`. `out === null`: only
 * the depth is checked. toJSON is honoured as JSON.stringify does: called once, its result not again.
 */
function strip(value: unknown, out: EncodedPacket | null, depth: number, key: string | number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function' && !isBinary(value)) {
    const json: unknown = toJSON.call(value, typeof key === 'number' ? String(key) : key);
    const next = stripContents(json, out, depth);
    // no binary inside: keep the original, JSON.stringify calls toJSON again (as socket.io-parser does)
    return next === json ? value : next;
  }
  return stripContents(value, out, depth);
}

function stripContents(value: unknown, out: EncodedPacket | null, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  // arrays and plain objects (all of JSON-like data) are neither binary nor Blob: checked first
  if (Array.isArray(value)) {
    if (depth >= MAX_ENCODE_DEPTH) tooDeep();
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const next = strip(item, out, depth + 1, i);
      if (copy !== undefined) copy.push(next);
      else if (next !== item) {
        copy = value.slice(0, i);
        copy.push(next);
      }
    }
    return copy ?? value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    if (isBinary(value)) {
      if (out === null) return value;
      out.push(toBuffer(value));
      return { _placeholder: true, num: out.length - 2 };
    }
    if (typeof Blob !== 'undefined' && value instanceof Blob) {
      throw new TypeError('cannot encode a Blob: read it first (Buffer.from(await blob.arrayBuffer()))');
    }
  }
  if (depth >= MAX_ENCODE_DEPTH) tooDeep();
  const obj = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const k in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
    const item = obj[k];
    const next = strip(item, out, depth + 1, k);
    if (copy !== undefined) copy[k] = next;
    else if (next !== item) copy = copyUpTo(obj, k, next);
  }
  return copy ?? obj;
}

function tooDeep(): never {
  throw new RangeError(`cannot encode packet data nested deeper than ${MAX_ENCODE_DEPTH} levels (circular?)`);
}

/** The own enumerable entries of `obj` before `key`, then `key: next`. */
function copyUpTo(obj: Record<string, unknown>, key: string, next: unknown): Record<string, unknown> {
  // null prototype: a "__proto__" key stays a plain property, as JSON.stringify sees it in the original
  const copy = Object.create(null) as Record<string, unknown>;
  for (const k in obj) {
    if (k === key) break;
    if (Object.prototype.hasOwnProperty.call(obj, k)) copy[k] = obj[k];
  }
  copy[key] = next;
  return copy;
}

function isBinary(value: object): value is ArrayBuffer | ArrayBufferView {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value);
}

/** A Buffer over the same bytes (no copy). */
function toBuffer(value: ArrayBuffer | ArrayBufferView): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof ArrayBuffer) return Buffer.from(value);
  return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

/**
 * Decodes one connection's messages. Refuses, by throwing SocketIOError ERR_BAD_PACKET, all that
 * socket.io-parser refuses and more (see packet-rules.ts and DecodeLimits): non-string or over-long event
 * names, ack ids that are not safe integers, placeholders not indexing an attachment, payloads nested
 * deeper than maxDepth (checked before JSON.parse, so no deep recursion ever starts).
 */
export class JsonDecoder extends EventEmitter implements Decoder {
  private readonly limits: ResolvedDecodeLimits;
  /** The binary packet being reconstructed, its attachments so far, and where its placeholders are. */
  private pending: Packet | undefined;
  private expected = 0;
  private readonly buffers: Buffer[] = [];
  /** Flat triples: container, key, attachment index. */
  private readonly holes: unknown[] = [];

  /** Set by setReceiver(): decoded packets go there in a plain call instead of a 'decoded' emit. */
  private receiver: ((packet: Packet) => void) | undefined = undefined;

  constructor(limits?: DecodeLimits) {
    super();
    this.limits = resolveDecodeLimits(limits);
  }

  /**
   * Hands every decoded packet to `receiver` instead of emitting 'decoded' (one emit less per packet
   * for the connection that owns this decoder). The 'decoded' listeners are not called from then on.
   */
  setReceiver(receiver: (packet: Packet) => void): void {
    this.receiver = receiver;
  }

  private deliver(packet: Packet): void {
    if (this.receiver !== undefined) this.receiver(packet);
    else this.emit('decoded', packet);
  }

  /** Takes one Engine.IO message: a text packet or one binary attachment. Emits 'decoded' per packet. */
  add(chunk: unknown): void {
    if (typeof chunk === 'string') {
      if (this.pending !== undefined) {
        this.destroy();
        refuse('text message while binary attachments are pending');
      }
      const packet = this.decodeText(chunk);
      if (packet !== undefined) this.deliver(packet);
      return;
    }
    if (chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk)) {
      if (this.pending === undefined) refuse('binary message without a binary packet');
      this.buffers.push(toBuffer(chunk));
      if (this.buffers.length === this.expected) this.deliver(this.complete());
      return;
    }
    refuse('message is neither text nor binary');
  }

  /** Drops a partially reconstructed binary packet. */
  destroy(): void {
    this.pending = undefined;
    this.expected = 0;
    // emptied in place: the decoded packet keeps no reference to either array
    this.buffers.length = 0;
    this.holes.length = 0;
  }

  /** Returns the packet, or undefined when it waits for attachments. */
  private decodeText(str: string): Packet | undefined {
    const len = str.length;
    let type = len === 0 ? -1 : str.charCodeAt(0) - 48;
    if (type < 0 || type > 6) refuse('unknown packet type');
    let i = 1;
    let attachments = 0;
    if (type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK) {
      // a plain decimal count then `-`; nine digits at most, so the number stays exact
      while (i < len && i < 10 && isDigit(str.charCodeAt(i))) attachments = attachments * 10 + (str.charCodeAt(i++) - 48);
      if (i === 1 || i >= len || str.charCodeAt(i) !== 45) refuse('bad attachment header');
      if (attachments < 1) refuse('binary packet without attachments');
      if (attachments > this.limits.maxAttachments) refuse('more attachments than maxAttachments');
      i++;
    }
    let nsp = '/';
    if (i < len && str.charCodeAt(i) === 47) {
      // `/name,`; like socket.io-parser, a namespace that ends the text needs no comma
      const stop = Math.min(len, i + this.limits.maxNamespaceLength + 1);
      let end = i;
      while (end < stop && str.charCodeAt(end) !== 44) end++;
      if (end - i > this.limits.maxNamespaceLength) refuse('namespace longer than maxNamespaceLength');
      nsp = str.slice(i, end);
      i = end < len ? end + 1 : len;
    }
    let id: number | undefined;
    if (i < len && isDigit(str.charCodeAt(i))) {
      const start = i;
      let n = 0;
      while (i < len && isDigit(str.charCodeAt(i))) n = n * 10 + (str.charCodeAt(i++) - 48);
      // more than 16 digits, or past 2^53: not an id a peer can have been given
      if (i - start > 16 || n > Number.MAX_SAFE_INTEGER) refuse('ack id is not a safe integer');
      id = n;
    }
    let data: unknown;
    if (i < len) data = this.parsePayload(str, i);
    if (type === PacketType.BINARY_EVENT) type = PacketType.EVENT;
    else if (type === PacketType.BINARY_ACK) type = PacketType.ACK;
    checkPacket(type, data, id, this.limits);
    const packet: Packet = id === undefined ? { type: type as PacketType, nsp } : { type: type as PacketType, nsp, id };
    if (data !== undefined) packet.data = data;
    if (attachments === 0) return packet;
    collectHoles(data, attachments, this.holes);
    this.pending = packet;
    this.expected = attachments;
    return undefined;
  }

  private parsePayload(str: string, from: number): unknown {
    const c = str.charCodeAt(from);
    // an id must be followed by the payload itself: `2 ["x"]` or `21a["x"]` is junk, not JSON whitespace
    if (c !== 91 && c !== 123 && c !== 34) refuse('payload must start with [, { or "');
    const max = this.limits.maxDepth;
    // nesting needs that many `[`/`{`: texts with fewer (most packets) skip the character scan
    if (str.length - from > max && !hasFewOpeners(str, from, max) && exceedsDepth(str, from, max)) {
      refuse('payload nested deeper than maxDepth');
    }
    try {
      return JSON.parse(from === 0 ? str : str.slice(from));
    } catch {
      return refuse('payload is not valid JSON');
    }
  }

  /** All attachments are in: put each in its placeholders' place. */
  private complete(): Packet {
    const packet = this.pending as Packet;
    const { buffers, holes } = this;
    for (let i = 0; i < holes.length; i += 3) {
      (holes[i] as Record<string | number, unknown>)[holes[i + 1] as string | number] = buffers[holes[i + 2] as number];
    }
    this.destroy();
    return packet;
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Whether the text from `from` holds at most `max` `[` and `{` together (native indexOf hops). */
function hasFewOpeners(str: string, from: number, max: number): boolean {
  let n = 0;
  for (let i = str.indexOf('[', from); i !== -1; i = str.indexOf('[', i + 1)) if (++n > max) return false;
  for (let i = str.indexOf('{', from); i !== -1; i = str.indexOf('{', i + 1)) if (++n > max) return false;
  return true;
}

/**
 * Whether the JSON text from `from` nests arrays/objects deeper than `max`: one linear scan, string
 * contents skipped (brackets inside strings do not count). Malformed text is left to JSON.parse.
 */
function exceedsDepth(str: string, from: number, max: number): boolean {
  let depth = 0;
  const len = str.length;
  for (let i = from; i < len; i++) {
    const c = str.charCodeAt(i);
    if (c === 34) {
      i = skipString(str, i + 1, len);
    } else if (c === 91 || c === 123) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}

/** Index of the quote closing a JSON string whose contents start at `i` (len if none). */
function skipString(str: string, i: number, len: number): number {
  // most strings are short keys: a plain loop; past a few units, native indexOf hops to each quote
  const stop = Math.min(len, i + 16);
  for (; i < stop; i++) {
    const c = str.charCodeAt(i);
    if (c === 34) return i;
    if (c === 92) i++;
  }
  for (;;) {
    const q = str.indexOf('"', i);
    if (q === -1) return len;
    let b = q - 1;
    while (b >= i && str.charCodeAt(b) === 92) b--;
    // an even run of backslashes escapes itself, not the quote
    if ((q - 1 - b) % 2 === 0) return q;
    i = q + 1;
  }
}

/**
 * Finds every `{"_placeholder":true,"num":N}` (depth already bounded by maxDepth) and records where it
 * sits; N must be an integer in [0, attachments). One attachment may fill several placeholders.
 */
function collectHoles(value: unknown, attachments: number, holes: unknown[]): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) visit(value, i, value[i], attachments, holes);
    return;
  }
  const obj = value as Record<string, unknown>;
  for (const k in obj) {
    if (Object.prototype.hasOwnProperty.call(obj, k)) visit(obj, k, obj[k], attachments, holes);
  }
}

function visit(holder: object, key: string | number, item: unknown, attachments: number, holes: unknown[]): void {
  if (typeof item !== 'object' || item === null) return;
  if ((item as { _placeholder?: unknown })._placeholder === true) {
    const num = (item as { num?: unknown }).num;
    if (typeof num !== 'number' || !Number.isInteger(num) || num < 0 || num >= attachments) {
      refuse('placeholder does not index an attachment');
    }
    holes.push(holder, key, num);
    return;
  }
  collectHoles(item, attachments, holes);
}

/** The default codec: a shared JsonEncoder and a JsonDecoder per connection under `limits`. */
export function jsonCodec(limits?: DecodeLimits): Codec {
  const resolved = resolveDecodeLimits(limits);
  return { encoder: sharedEncoder, createDecoder: () => new JsonDecoder(resolved) };
}

const sharedEncoder = new JsonEncoder();
