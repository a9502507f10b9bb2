// A small msgpack writer with notepack.io's value mapping (socket.io-msgpack-parser's).

/** Nesting the writer accepts in app data before it gives up (circular data ends here too). */
export const MAX_ENCODE_DEPTH = 1000;

const TWO_32 = 0x100000000;
const TWO_63 = 2 ** 63;
const TWO_64 = 2 ** 64;
/** Scratch buffers above this size are not kept between packets. */
const MAX_RETAINED = 1 << 20;

/**
 * Writes msgpack into a growing scratch buffer. Values map as notepack.io maps them: integers in their
 * smallest form (64-bit up to ±2^63/2^64, float64 beyond: notepack garbles those), other numbers float64,
 * undefined as fixext 1 type 0 (`d4 00 00`), Date as fixext 8 type 0 (ms, int64), toJSON followed,
 * function-valued keys skipped. Unlike notepack.io, every binary (Buffer, ArrayBuffer, typed array, only
 * the view's bytes) is msgpack bin: notepack's ext 0 reaches browser clients as `[0, ArrayBuffer]`.
 */
export class MsgpackWriter {
  private buf = Buffer.allocUnsafe(1024);
  private pos = 0;

  /** Forgets what was written. */
  reset(): void {
    this.pos = 0;
  }

  /** A copy of what was written, then ready for the next packet. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.pos = 0;
    return out;
  }

  mapHeader(length: number): void {
    if (length < 0x10) this.byte(0x80 | length);
    else this.sized(0xde, 0xdf, length);
  }

  /** @throws RangeError past MAX_ENCODE_DEPTH, TypeError for functions, symbols, BigInts. */
  value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        return this.str(value);
      case 'number':
        return this.num(value);
      case 'boolean':
        return this.byte(value ? 0xc3 : 0xc2);
      case 'undefined':
        this.ensure(3);
        this.buf[this.pos++] = 0xd4;
        this.buf[this.pos++] = 0;
        this.buf[this.pos++] = 0;
        return;
      case 'object':
        if (value === null) return this.byte(0xc0);
        return this.object(value, depth);
      default:
        throw new TypeError(`cannot encode a ${typeof value} as msgpack`);
    }
  }

  str(value: string): void {
    const chars = value.length;
    if (chars < 32) {
      // short strings: a JS loop beats Buffer.byteLength + write. At most 3 bytes a UTF-16 unit, so the
      // header is known to be fixstr below 11 units; else reserve str8's two bytes and shift if unneeded
      const header = chars * 3 < 32 ? 1 : 2;
      this.ensure(header + chars * 3);
      const start = this.pos;
      this.pos += header;
      const length = this.utf8(value);
      if (length >= 32) {
        this.buf[start] = 0xd9;
        this.buf[start + 1] = length;
        return;
      }
      if (header === 2) {
        this.buf.copy(this.buf, start + 1, start + 2, this.pos);
        this.pos--;
      }
      this.buf[start] = 0xa0 | length;
      return;
    }
    const length = Buffer.byteLength(value);
    if (length < 0x100) {
      this.ensure(2);
      this.buf[this.pos++] = 0xd9;
      this.buf[this.pos++] = length;
    } else {
      this.sized(0xda, 0xdb, length);
    }
    this.ensure(length);
    this.pos += this.buf.write(value, this.pos, length, 'utf8');
  }

  private num(value: number): void {
    if (!Number.isInteger(value)) return this.float(value);
    this.ensure(9);
    const b = this.buf;
    let p = this.pos;
    if (value >= 0) {
      if (value < 0x80) {
        b[p++] = value;
      } else if (value < 0x100) {
        b[p++] = 0xcc;
        b[p++] = value;
      } else if (value < 0x10000) {
        b[p++] = 0xcd;
        p = b.writeUInt16BE(value, p);
      } else if (value < TWO_32) {
        b[p++] = 0xce;
        p = b.writeUInt32BE(value, p);
      } else if (value < TWO_64) {
        b[p++] = 0xcf;
        p = writeInt64(b, value, p);
      } else {
        return this.float(value);
      }
    } else if (value >= -0x20) {
      b[p++] = value & 0xff;
    } else if (value >= -0x80) {
      b[p++] = 0xd0;
      p = b.writeInt8(value, p);
    } else if (value >= -0x8000) {
      b[p++] = 0xd1;
      p = b.writeInt16BE(value, p);
    } else if (value >= -0x80000000) {
      b[p++] = 0xd2;
      p = b.writeInt32BE(value, p);
    } else if (value >= -TWO_63) {
      b[p++] = 0xd3;
      p = writeInt64(b, value, p);
    } else {
      return this.float(value);
    }
    this.pos = p;
  }

  private float(value: number): void {
    this.ensure(9);
    this.buf[this.pos++] = 0xcb;
    this.pos = this.buf.writeDoubleBE(value, this.pos);
  }

  private object(value: object, depth: number): void {
    if (depth >= MAX_ENCODE_DEPTH) {
      throw new RangeError(`cannot encode packet data nested deeper than ${MAX_ENCODE_DEPTH} levels (circular?)`);
    }
    if (Array.isArray(value)) {
      const length = value.length;
      if (length < 0x10) this.byte(0x90 | length);
      else this.sized(0xdc, 0xdd, length);
      for (let i = 0; i < length; i++) this.value(value[i], depth + 1);
      return;
    }
    if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) return this.bin(value);
    if (value instanceof Date) return this.date(value);
    if (typeof Blob !== 'undefined' && value instanceof Blob) {
      throw new TypeError('cannot encode a Blob: read it first (Buffer.from(await blob.arrayBuffer()))');
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return this.value(toJSON.call(value), depth + 1);
    const obj = value as Record<string, unknown>;
    let length = 0;
    for (const k in obj) if (Object.prototype.hasOwnProperty.call(obj, k) && typeof obj[k] !== 'function') length++;
    this.mapHeader(length);
    for (const k in obj) {
      if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
      const item = obj[k];
      if (typeof item === 'function') continue;
      this.str(k);
      this.value(item, depth + 1);
    }
  }

  private bin(value: ArrayBuffer | ArrayBufferView): void {
    const bytes =
      value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    const length = bytes.length;
    if (length < 0x100) {
      this.ensure(2);
      this.buf[this.pos++] = 0xc4;
      this.buf[this.pos++] = length;
    } else {
      this.sized(0xc5, 0xc6, length);
    }
    this.ensure(length);
    this.buf.set(bytes, this.pos);
    this.pos += length;
  }

  private date(value: Date): void {
    const time = value.getTime();
    // JSON sends an invalid Date as null; notepack would send the epoch
    if (Number.isNaN(time)) return this.byte(0xc0);
    this.ensure(10);
    this.buf[this.pos++] = 0xd7;
    this.buf[this.pos++] = 0;
    this.pos = writeInt64(this.buf, time, this.pos);
  }

  /** UTF-8 of a short string at pos (lone surrogates as U+FFFD, as Buffer does); returns its byte length. */
  private utf8(value: string): number {
    const b = this.buf;
    const start = this.pos;
    let p = start;
    for (let i = 0; i < value.length; i++) {
      let c = value.charCodeAt(i);
      if (c < 0x80) {
        b[p++] = c;
        continue;
      }
      if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
        continue;
      }
      if (c >= 0xd800 && c < 0xe000) {
        const next = value.charCodeAt(i + 1);
        if (c < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
          c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
          i++;
          b[p++] = 0xf0 | (c >> 18);
          b[p++] = 0x80 | ((c >> 12) & 0x3f);
          b[p++] = 0x80 | ((c >> 6) & 0x3f);
          b[p++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      b[p++] = 0xe0 | (c >> 12);
      b[p++] = 0x80 | ((c >> 6) & 0x3f);
      b[p++] = 0x80 | (c & 0x3f);
    }
    this.pos = p;
    return p - start;
  }

  /** A 16- or 32-bit length after its prefix byte. */
  private sized(prefix16: number, prefix32: number, length: number): void {
    this.ensure(5);
    if (length < 0x10000) {
      this.buf[this.pos++] = prefix16;
      this.pos = this.buf.writeUInt16BE(length, this.pos);
    } else if (length < TWO_32) {
      this.buf[this.pos++] = prefix32;
      this.pos = this.buf.writeUInt32BE(length, this.pos);
    } else {
      throw new RangeError('msgpack cannot hold 2^32 items or bytes');
    }
  }

  private byte(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** @internal whether this writer's scratch is small enough to keep */
  get reusable(): boolean {
    return this.buf.length <= MAX_RETAINED;
  }
}

/** Two 32-bit halves, as notepack writes them (exact for every integer double within ±2^63 / 2^64). */
function writeInt64(buf: Buffer, value: number, at: number): number {
  const hi = Math.floor(value / TWO_32);
  at = buf.writeUInt32BE(hi >>> 0, at);
  return buf.writeUInt32BE(value >>> 0, at);
}

let spare: MsgpackWriter | undefined;

/** A writer for one packet; give it back with releaseWriter. Reentrant (a toJSON may encode too). */
export function acquireWriter(): MsgpackWriter {
  const writer = spare ?? new MsgpackWriter();
  spare = undefined;
  // a packet that threw half-way left its bytes behind
  writer.reset();
  return writer;
}

export function releaseWriter(writer: MsgpackWriter): void {
  if (writer.reusable) spare = writer;
}

/** Encodes one value as msgpack. */
export function encodeMsgpack(value: unknown): Buffer {
  const writer = acquireWriter();
  try {
    writer.value(value, 0);
    return writer.finish();
  } finally {
    releaseWriter(writer);
  }
}
