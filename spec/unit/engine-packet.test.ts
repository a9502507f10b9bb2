// Engine.IO v4 packets and payloads: every type both ways, \x1e framing, `b`+base64, malformed input.
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
  toBuffer,
  type EnginePacket,
} from '../../lib/codec/engine-packet';

const NAMES: Record<string, string> = { 0: 'open', 1: 'close', 2: 'ping', 3: 'pong', 4: 'message', 5: 'upgrade', 6: 'noop' };

describe('encodePacketAsText', () => {
  const rows: Array<[EnginePacket, string]> = [
    [{ type: EnginePacketType.OPEN, data: '{"sid":"abc"}' }, '0{"sid":"abc"}'],
    [{ type: EnginePacketType.CLOSE }, '1'],
    [{ type: EnginePacketType.PING }, '2'],
    [{ type: EnginePacketType.PING, data: 'probe' }, '2probe'],
    [{ type: EnginePacketType.PONG }, '3'],
    [{ type: EnginePacketType.PONG, data: 'probe' }, '3probe'],
    [{ type: EnginePacketType.MESSAGE, data: 'hello' }, '4hello'],
    [{ type: EnginePacketType.MESSAGE, data: '' }, '4'],
    [{ type: EnginePacketType.MESSAGE, data: 'hé€\u2028😀' }, '4hé€\u2028😀'],
    [{ type: EnginePacketType.UPGRADE }, '5'],
    [{ type: EnginePacketType.NOOP }, '6'],
    [{ type: EnginePacketType.MESSAGE, data: Buffer.from([1, 2, 3, 4]) }, 'bAQIDBA=='],
    [{ type: EnginePacketType.MESSAGE, data: Buffer.alloc(0) }, 'b'],
    [{ type: EnginePacketType.MESSAGE, data: Buffer.from([0xfb, 0xff]) }, 'b+/8='],
  ];
  for (const [packet, wire] of rows) {
    test(`writes ${NAMES[packet.type]} ${JSON.stringify(packet.data ?? null)} as ${JSON.stringify(wire)}`, () => {
      assert.equal(encodePacketAsText(packet), wire);
    });
  }
});

describe('encodePayload', () => {
  test('joins packets with \\x1e, never trailing', () => {
    assert.equal(
      encodePayload([
        { type: EnginePacketType.MESSAGE, data: '2["first",1]' },
        { type: EnginePacketType.MESSAGE, data: '2["second",2]' },
      ]),
      '42["first",1]\x1e42["second",2]',
    );
    assert.equal(encodePayload([{ type: EnginePacketType.NOOP }, { type: EnginePacketType.CLOSE }]), '6\x1e1');
    assert.equal(encodePayload([{ type: EnginePacketType.PING }]), '2');
  });

  test('writes binary messages of a payload as b + base64 (PROTOCOL.md §2.2)', () => {
    assert.equal(
      encodePayload([
        { type: EnginePacketType.MESSAGE, data: '52-["srvbin",{"_placeholder":true,"num":0},{"nested":[{"_placeholder":true,"num":1}]}]' },
        { type: EnginePacketType.MESSAGE, data: Buffer.from([0xde, 0xad]) },
        { type: EnginePacketType.MESSAGE, data: Buffer.from('hi') },
      ]),
      '452-["srvbin",{"_placeholder":true,"num":0},{"nested":[{"_placeholder":true,"num":1}]}]\x1eb3q0=\x1ebaGk=',
    );
  });
});

describe('decodeTextPacket', () => {
  const rows: Array<[string, EnginePacket]> = [
    ['0{"sid":"abc"}', { type: EnginePacketType.OPEN, data: '{"sid":"abc"}' }],
    ['1', { type: EnginePacketType.CLOSE }],
    ['2', { type: EnginePacketType.PING }],
    ['2probe', { type: EnginePacketType.PING, data: 'probe' }],
    ['3', { type: EnginePacketType.PONG }],
    ['3probe', { type: EnginePacketType.PONG, data: 'probe' }],
    ['4', { type: EnginePacketType.MESSAGE }],
    ['4hello', { type: EnginePacketType.MESSAGE, data: 'hello' }],
    ['4\u2028é', { type: EnginePacketType.MESSAGE, data: '\u2028é' }],
    ['5', { type: EnginePacketType.UPGRADE }],
    ['6', { type: EnginePacketType.NOOP }],
    ['bAQIDBA==', { type: EnginePacketType.MESSAGE, data: Buffer.from([1, 2, 3, 4]) }],
    ['byv66vg==', { type: EnginePacketType.MESSAGE, data: Buffer.from([0xca, 0xfe, 0xba, 0xbe]) }],
    ['b', { type: EnginePacketType.MESSAGE, data: Buffer.alloc(0) }],
  ];
  for (const [wire, packet] of rows) {
    test(`reads ${JSON.stringify(wire)}`, () => {
      assert.deepEqual(decodeTextPacket(wire), packet);
    });
  }

  const invalid: string[] = ['', '7', '9', 'x', 'B', ' 4', '\x1e', 'b!!!', 'bAQ=ID', 'bAQIDBA===', 'b AQID'];
  for (const wire of invalid) {
    test(`refuses ${JSON.stringify(wire)} with undefined`, () => {
      assert.equal(decodeTextPacket(wire), undefined);
    });
  }
});

describe('decodePayload', () => {
  test('splits on \\x1e', () => {
    assert.deepEqual(decodePayload('40\x1e40/admin,'), [
      { type: EnginePacketType.MESSAGE, data: '0' },
      { type: EnginePacketType.MESSAGE, data: '0/admin,' },
    ]);
    assert.deepEqual(decodePayload('451-1["upload",{"_placeholder":true,"num":0}]\x1ebyv66vg=='), [
      { type: EnginePacketType.MESSAGE, data: '51-1["upload",{"_placeholder":true,"num":0}]' },
      { type: EnginePacketType.MESSAGE, data: Buffer.from([0xca, 0xfe, 0xba, 0xbe]) },
    ]);
  });

  const invalid: string[] = ['', '4a\x1e', '\x1e4a', '4a\x1e\x1e4b', '4a\x1e9', '4a\x1eb!'];
  for (const wire of invalid) {
    test(`refuses ${JSON.stringify(wire)} with undefined`, () => {
      assert.equal(decodePayload(wire), undefined);
    });
  }

  test(`uses ${JSON.stringify(RECORD_SEPARATOR)} as separator: data holding it is split, as by the official parser`, () => {
    assert.deepEqual(decodePayload('4a\x1e4b'), [
      { type: EnginePacketType.MESSAGE, data: 'a' },
      { type: EnginePacketType.MESSAGE, data: 'b' },
    ]);
  });
});

/** Packets as engine.io-parser shapes them (type names), from ours (type digits). */
function toOfficial(packet: EnginePacket): parser.Packet {
  const out: parser.Packet = { type: NAMES[packet.type] as parser.PacketType };
  if (packet.data !== undefined) out.data = packet.data;
  return out;
}

// text without the separator, which no sender puts inside a packet (Socket.IO JSON escapes it)
const text = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replaceAll(RECORD_SEPARATOR, ''));
const packetArb: fc.Arbitrary<EnginePacket> = fc.oneof(
  fc.tuple(fc.constantFrom(...Object.values(EnginePacketType)), text).map(([type, data]) => (data === '' ? { type } : { type, data })),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ type: EnginePacketType.MESSAGE, data: Buffer.from(bytes) })),
);

describe('agreement with engine.io-parser', () => {
  test('encodes every payload byte for byte like the official parser', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 8 }), (packets) => {
        let official = '';
        parser.encodePayload(packets.map(toOfficial), (encoded) => {
          official = encoded;
        });
        assert.equal(encodePayload(packets), official);
      }),
    );
  });

  test('decodes what it encodes', () => {
    fc.assert(
      fc.property(fc.array(packetArb, { minLength: 1, maxLength: 8 }), (packets) => {
        assert.deepEqual(decodePayload(encodePayload(packets)), packets);
      }),
    );
  });
});

describe('toBuffer', () => {
  test('wraps typed arrays, DataViews and ArrayBuffers without copying', () => {
    const bytes = new Uint8Array([9, 8, 7, 6]);
    const view = new Uint8Array(bytes.buffer, 1, 2);
    const fromView = toBuffer(view);
    assert.deepEqual(fromView, Buffer.from([8, 7]));
    bytes[1] = 0;
    assert.equal(fromView[0], 0);
    assert.deepEqual(toBuffer(new DataView(bytes.buffer, 2, 2)), Buffer.from([7, 6]));
    assert.deepEqual(toBuffer(bytes.buffer), Buffer.from([9, 0, 7, 6]));
    const buffer = Buffer.from('x');
    assert.equal(toBuffer(buffer), buffer);
  });
});
