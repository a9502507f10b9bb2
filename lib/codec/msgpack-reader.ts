// A bounded msgpack reader with notepack.io's value mapping (socket.io-msgpack-parser's).
import { refuse } from './packet-rules';

const TWO_32 = 0x100000000;
const EMPTY: Buffer = Buffer.alloc(0);
/** Strings up to this many bytes are decoded in JS when ASCII. */
const SHORT_STRING = 16;

/**
 * Reads msgpack from one message, bounded: every length is checked against the bytes left before
 * anything is allocated, containers nest at most `maxDepth` deep, map keys must be strings. Maps as
 * notepack.io decodes: bin → Buffer (a view of the input), ext 0 → ArrayBuffer (copy), `d4 00 00` →
 * undefined, `d7 00` → Date; other ext types are refused. Every refusal throws ERR_BAD_PACKET.
 */
export class MsgpackReader {
  private buf: Buffer = EMPTY;
  private pos = 0;
  private maxDepth = 0;

  reset(buf: Buffer, maxDepth: number): void {
    this.buf = buf;
    this.pos = 0;
    this.maxDepth = maxDepth;
  }

  get atEnd(): boolean {
    return this.pos === this.buf.length;
  }

  /** Releases the message. */
  clear(): void {
    this.buf = EMPTY;
  }

  /** The length of the map that comes next, -1 if the next value is not a map. */
  mapHeader(): number {
    const b = this.byteAt();
    if (b >= 0x80 && b < 0x90) return this.count(b & 0x0f, 2);
    if (b === 0xde) return this.count(this.uint(2), 2);
    if (b === 0xdf) return this.count(this.uint(4), 2);
    this.pos--;
    return -1;
  }

  /** A map key: a string. */
  key(): string {
    const b = this.byteAt();
    if (b >= 0xa0 && b < 0xc0) return this.str(b & 0x1f);
    if (b === 0xd9) return this.str(this.uint(1));
    if (b === 0xda) return this.str(this.uint(2));
    if (b === 0xdb) return this.str(this.uint(4));
    return refuse('msgpack map key is not a string');
  }

  /** The next value; `depth` containers enclose it. */
  value(depth: number): unknown {
    const b = this.byteAt();
    if (b < 0x80) return b;
    if (b < 0x90) return this.map(this.count(b & 0x0f, 2), depth);
    if (b < 0xa0) return this.array(this.count(b & 0x0f, 1), depth);
    if (b < 0xc0) return this.str(b & 0x1f);
    if (b >= 0xe0) return b - 0x100;
    switch (b) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.bin(this.uint(1));
      case 0xc5: return this.bin(this.uint(2));
      case 0xc6: return this.bin(this.uint(4));
      case 0xc7: return this.ext(this.uint(1));
      case 0xc8: return this.ext(this.uint(2));
      case 0xc9: return this.ext(this.uint(4));
      case 0xca: return this.buf.readFloatBE(this.take(4));
      case 0xcb: return this.buf.readDoubleBE(this.take(8));
      case 0xcc: return this.uint(1);
      case 0xcd: return this.uint(2);
      case 0xce: return this.uint(4);
      case 0xcf: return this.uint(4) * TWO_32 + this.uint(4);
      case 0xd0: return this.buf.readInt8(this.take(1));
      case 0xd1: return this.buf.readInt16BE(this.take(2));
      case 0xd2: return this.buf.readInt32BE(this.take(4));
      case 0xd3: return this.buf.readInt32BE(this.take(4)) * TWO_32 + this.uint(4);
      case 0xd4: return this.fixext1();
      case 0xd7: return this.fixext8();
      case 0xd9: return this.str(this.uint(1));
      case 0xda: return this.str(this.uint(2));
      case 0xdb: return this.str(this.uint(4));
      case 0xdc: return this.array(this.count(this.uint(2), 1), depth);
      case 0xdd: return this.array(this.count(this.uint(4), 1), depth);
      case 0xde: return this.map(this.count(this.uint(2), 2), depth);
      case 0xdf: return this.map(this.count(this.uint(4), 2), depth);
      default: return refuse(`unsupported msgpack type 0x${b.toString(16)}`);
    }
  }

  private array(length: number, depth: number): unknown[] {
    if (depth >= this.maxDepth) refuse('payload nested deeper than maxDepth');
    const out = new Array<unknown>(length);
    for (let i = 0; i < length; i++) out[i] = this.value(depth + 1);
    return out;
  }

  private map(length: number, depth: number): Record<string, unknown> {
    if (depth >= this.maxDepth) refuse('payload nested deeper than maxDepth');
    const out: Record<string, unknown> = {};
    for (let i = 0; i < length; i++) {
      const k = this.key();
      const v = this.value(depth + 1);
      // a plain assignment would set the prototype
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
    }
    return out;
  }

  private str(length: number): string {
    const start = this.take(length);
    const end = start + length;
    const buf = this.buf;
    if (length > SHORT_STRING) return buf.toString('utf8', start, end);
    // short keys and values: a JS loop beats the native call's fixed cost while the bytes are ASCII
    let out = '';
    for (let i = start; i < end; i++) {
      const c = buf[i];
      if (c >= 0x80) return buf.toString('utf8', start, end);
      out += String.fromCharCode(c);
    }
    return out;
  }

  private bin(length: number): Buffer {
    const start = this.take(length);
    return this.buf.subarray(start, start + length);
  }

  private ext(length: number): ArrayBuffer {
    if (this.buf.readInt8(this.take(1)) !== 0) refuse('unsupported msgpack ext type');
    const start = this.take(length);
    const copy = new ArrayBuffer(length);
    new Uint8Array(copy).set(this.buf.subarray(start, start + length));
    return copy;
  }

  private fixext1(): undefined {
    if (this.buf.readInt8(this.take(1)) !== 0) refuse('unsupported msgpack ext type');
    this.take(1);
    return undefined;
  }

  private fixext8(): Date {
    if (this.buf.readInt8(this.take(1)) !== 0) refuse('unsupported msgpack ext type');
    return new Date(this.buf.readInt32BE(this.take(4)) * TWO_32 + this.uint(4));
  }

  /** `length` items of at least `minBytes` each must fit in what is left, before any allocation. */
  private count(length: number, minBytes: number): number {
    if (length * minBytes > this.buf.length - this.pos) refuse('msgpack length past the end of the message');
    return length;
  }

  private uint(bytes: 1 | 2 | 4): number {
    const at = this.take(bytes);
    return bytes === 1 ? this.buf[at] : bytes === 2 ? this.buf.readUInt16BE(at) : this.buf.readUInt32BE(at);
  }

  private byteAt(): number {
    return this.buf[this.take(1)];
  }

  /** Claims `n` bytes; returns where they start. */
  private take(n: number): number {
    const at = this.pos;
    if (n > this.buf.length - at) refuse('msgpack message truncated');
    this.pos = at + n;
    return at;
  }
}
