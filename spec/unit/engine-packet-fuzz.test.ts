// Property-based fuzzing of the Engine.IO decoders (decodeTextPacket, decodePayload): any input decodes or
// is refused with undefined, never throws; what we accept engine.io-parser accepts alike. Fixed seed,
// FUZZ_RUNS=100000 for longer runs (see spec/fixtures/arbitraries.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as parser from 'engine.io-parser';
import fc from 'fast-check';
import {
  decodePayload,
  decodeTextPacket,
  encodePacketAsText,
  encodePayload,
  EnginePacketType,
  RECORD_SEPARATOR,
  type EnginePacket,
} from '../../lib/codec/engine-packet';
import { anyString, fuzzParams } from '../fixtures/arbitraries';

const NAMES: Record<string, string> = { 0: 'open', 1: 'close', 2: 'ping', 3: 'pong', 4: 'message', 5: 'upgrade', 6: 'noop' };
const TYPES = new Set<string>(Object.values(EnginePacketType));
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** What a decoded packet must look like, whatever the input. */
function assertWellFormed(packet: EnginePacket): void {
  assert.ok(TYPES.has(packet.type), `type ${JSON.stringify(packet.type)}`);
  if (packet.data === undefined) return;
  if (Buffer.isBuffer(packet.data)) assert.equal(packet.type, EnginePacketType.MESSAGE, 'binary only in a message');
  else assert.equal(typeof packet.data, 'string');
}

/** engine.io-parser's packet shape from ours. */
function toOfficial(packet: EnginePacket): parser.Packet {
  const out: parser.Packet = { type: NAMES[packet.type] as parser.PacketType };
  if (packet.data !== undefined) out.data = packet.data;
  return out;
}

/** One UTF-16 unit, biased to the characters the framing cares about. */
const unit = fc.oneof(
  fc.constantFrom('0', '1', '2', '3', '4', '5', '6', '7', '9', 'b', 'B', '=', '+', '/', '-', '_', ' ', RECORD_SEPARATOR, '\x00', '\ufffd'),
  fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
);

const text = fc.string({ unit: 'grapheme', maxLength: 30 }).map((s) => s.replaceAll(RECORD_SEPARATOR, ''));
const validPacket: fc.Arbitrary<EnginePacket> = fc.oneof(
  fc.tuple(fc.constantFrom(...Object.values(EnginePacketType)), text).map(([type, data]) => (data === '' ? { type } : { type, data })),
  fc.uint8Array({ maxLength: 30 }).map((bytes) => ({ type: EnginePacketType.MESSAGE, data: Buffer.from(bytes) })),
);

/** Valid payloads with a few units inserted, replaced or removed. */
const mutatedPayload = fc
  .tuple(fc.array(validPacket, { minLength: 1, maxLength: 6 }), fc.array(fc.tuple(fc.nat(), fc.constantFrom('insert', 'replace', 'delete'), unit), { maxLength: 4 }))
  .map(([packets, edits]) => {
    let s = encodePayload(packets);
    for (const [at, op, u] of edits) {
      const i = at % (s.length + 1);
      if (op === 'insert') s = s.slice(0, i) + u + s.slice(i);
      else if (op === 'replace') s = s.slice(0, i) + u + s.slice(i + 1);
      else s = s.slice(0, i) + s.slice(i + 1);
    }
    return s;
  });

/** Framing abuse: record-separator storms, empty parts, lone type digits, long runs. */
const storm = fc.oneof(
  fc.nat({ max: 5000 }).map((n) => RECORD_SEPARATOR.repeat(n)),
  fc.tuple(fc.constantFrom('3', '4', '6', 'b', ''), fc.nat({ max: 5000 })).map(([p, n]) => Array(n + 1).fill(p).join(RECORD_SEPARATOR)),
  fc.tuple(fc.constantFrom('b', '4', '0'), fc.nat({ max: 20_000 }), fc.constantFrom('A', '=', '\x1e', '[')).map(([p, n, c]) => p + c.repeat(n)),
);

/** Bytes of any kind read the way a POST body is (UTF-8, invalid sequences become U+FFFD). */
const bytesAsUtf8 = fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u).toString('utf8'));

const anyInput = fc.oneof(anyString, fc.string({ unit, maxLength: 40 }), mutatedPayload, storm, bytesAsUtf8);

describe('Engine.IO decoder fuzzing', () => {
  const params = fuzzParams();

  test('decodeTextPacket: any string gives a well-formed packet or undefined, never a throw', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const packet = decodeTextPacket(input);
        if (packet) assertWellFormed(packet);
      }),
      { ...params, numRuns: (params.numRuns ?? 300) * 3 },
    );
  });

  test('decodeTextPacket: what we accept engine.io-parser decodes to the same packet; we refuse only what it refuses, or loose base64', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const ours = decodeTextPacket(input);
        const official = parser.decodePacket(input, 'nodebuffer');
        if (ours) {
          assert.deepEqual(toOfficial(ours), official);
          return;
        }
        // stricter on purpose: `b` + text that is not base64 is refused (engine.io-parser decodes it loosely)
        if (official.type !== 'error') assert.ok(input.startsWith('b') && !BASE64.test(input.slice(1)), JSON.stringify(input));
      }),
      params,
    );
  });

  test('decodePayload: accepted payloads have one packet per separator, all well-formed; refused ones hold a bad part', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const packets = decodePayload(input);
        const parts = input.split(RECORD_SEPARATOR);
        if (packets) {
          assert.equal(packets.length, parts.length);
          packets.forEach(assertWellFormed);
        } else {
          assert.ok(parts.some((p) => decodeTextPacket(p) === undefined));
        }
      }),
      { ...params, numRuns: (params.numRuns ?? 300) * 3 },
    );
  });

  test('decodePayload agrees with engine.io-parser: same packets, or an error packet there (loose base64 aside)', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const ours = decodePayload(input);
        const official = parser.decodePayload(input, 'nodebuffer');
        if (ours) {
          assert.deepEqual(ours.map(toOfficial), official);
          return;
        }
        const refusedLoosely = input.split(RECORD_SEPARATOR).some((p) => p.startsWith('b') && !BASE64.test(p.slice(1)));
        assert.ok(official.some((p) => p.type === 'error') || refusedLoosely, JSON.stringify(input));
      }),
      params,
    );
  });

  test('decode(encode(decode(x))) equals decode(x): accepted payloads re-encode to what decodes the same', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const packets = decodePayload(input);
        if (!packets) return;
        assert.deepEqual(decodePayload(encodePayload(packets)), packets);
        for (const p of packets) assert.deepEqual(decodeTextPacket(encodePacketAsText(p)), p);
      }),
      params,
    );
  });

  test('a record-separator storm of 1 000 000 is refused at once, and one of 100 000 pongs decodes', () => {
    assert.equal(decodePayload(RECORD_SEPARATOR.repeat(1_000_000)), undefined);
    const pongs = decodePayload(Array(100_000).fill('3').join(RECORD_SEPARATOR));
    assert.equal(pongs?.length, 100_000);
  });
});
