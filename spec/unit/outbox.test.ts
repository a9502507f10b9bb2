// The replay log alone: confirmation, the bound, gaps, and acked emits kept until answered.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { EncodedPacket } from '../../lib/codec/types';
import { Outbox, sizeOf, type LoggedPacket } from '../../lib/io/outbox';

const LIMITS = { maxQueuedPackets: 3, maxQueuedBytes: 1 << 20 };

/** A log record, as the encoder's meta would give it. */
function rec(messages: EncodedPacket, offset: number | undefined, ackId: number | undefined): LoggedPacket {
  return { messages, offset, ackId, bytes: sizeOf(messages) };
}

/** What plan() would resend, as the text of each packet. */
function resent(outbox: Outbox, offset: number | undefined): string[] | 'gap' {
  const plan = outbox.plan(offset);
  return plan.ok ? plan.packets.map((p) => p.messages[0] as string) : plan.reason;
}

describe('Outbox', () => {
  test('resends what follows the client offset, and nothing a confirmation covered', () => {
    const outbox = new Outbox(LIMITS, new Set<number>());
    outbox.append(rec(['a'], 1, undefined), 1, 1);
    outbox.append(rec(['b'], 2, undefined), 2, 2);
    outbox.append(rec(['c'], 3, undefined), 3, 3);
    assert.deepEqual(resent(outbox, 1), ['b', 'c']);
    assert.deepEqual(resent(outbox, undefined), ['a', 'b', 'c']);
    outbox.confirm(2);
    assert.equal(outbox.packets, 1);
    assert.deepEqual(resent(outbox, 2), ['c']);
  });

  test('keeps an acked emit past its confirmation until it is answered, and resends it whatever the offset', () => {
    const pending = new Set([7]);
    const outbox = new Outbox(LIMITS, pending);
    outbox.append(rec(['ask'], undefined, 7), 1, 1);
    outbox.append(rec(['b'], 1, undefined), 2, 2);
    outbox.confirm(2);
    assert.equal(outbox.packets, 1);
    // the client saw 'b' (so the ask too), but its answer may be what the drop lost
    assert.deepEqual(resent(outbox, 1), ['ask']);
    pending.delete(7);
    outbox.answered(7);
    assert.equal(outbox.packets, 0);
    assert.deepEqual(resent(outbox, 1), []);
  });

  test('forgets an acked emit answered before its confirmation', () => {
    const pending = new Set([7]);
    const outbox = new Outbox(LIMITS, pending);
    outbox.append(rec(['ask'], undefined, 7), 1, 1);
    pending.delete(7);
    outbox.answered(7);
    outbox.confirm(1);
    assert.equal(outbox.packets, 0);
  });

  test('keeps the place of packets resent on a new connection: an answer the client saw is not resent again', () => {
    const outbox = new Outbox(LIMITS, new Set<number>());
    outbox.append(rec(['a'], 1, undefined), 1, 1);
    // the server's answer to one of the client's emits: no offset, its place is "after offset 1"
    outbox.append(rec(['answer'], undefined, undefined), 2, 2);
    outbox.append(rec(['b'], 2, undefined), 3, 3);
    const plan = outbox.plan(undefined);
    assert.ok(plan.ok);
    // what Delivery.attach does on the new connection
    outbox.clear();
    plan.packets.forEach((p, i) => outbox.append(rec(p.messages, p.offset, p.ackId), i + 1, 0, p.after));
    assert.deepEqual(resent(outbox, 1), ['answer', 'b']);
    assert.deepEqual(resent(outbox, 2), []);
    assert.equal(outbox.lastOffset, 2);
  });

  test('drops written entries over the bound, so a recovery from before them is a gap', () => {
    const outbox = new Outbox(LIMITS, new Set<number>());
    for (let n = 1; n <= 5; n++) assert.equal(outbox.append(rec([`p${n}`], n, undefined), n, n), true);
    assert.equal(outbox.packets, 3);
    assert.equal(resent(outbox, 1), 'gap');
    assert.deepEqual(resent(outbox, 2), ['p3', 'p4', 'p5']);
  });

  test('refuses to drop what was not written yet', () => {
    const outbox = new Outbox(LIMITS, new Set<number>());
    for (let n = 1; n <= 3; n++) assert.equal(outbox.append(rec([`p${n}`], n, undefined), n, 0), true);
    assert.equal(outbox.fits(1), false);
    assert.equal(outbox.append(rec(['p4'], 4, undefined), 4, 0), false);
  });

  test('drops unanswered acked emits last, and a recovery while a dropped one is pending is a gap', () => {
    const pending = new Set([1]);
    const outbox = new Outbox(LIMITS, pending);
    outbox.append(rec(['ask'], undefined, 1), 1, 1);
    outbox.confirm(1);
    outbox.append(rec(['a'], 1, undefined), 2, 2);
    outbox.append(rec(['b'], 2, undefined), 3, 3);
    outbox.append(rec(['c'], 3, undefined), 4, 4);
    // 'a' went first: the ask is still there
    assert.deepEqual(resent(outbox, 1), ['ask', 'b', 'c']);
    // 'c' and what follows are not written yet: once 'b' is gone, only the ask can make room
    outbox.append(rec(['d'], 4, undefined), 5, 3);
    outbox.append(rec(['e'], 5, undefined), 6, 3);
    assert.equal(outbox.packets, 3);
    assert.equal(resent(outbox, 3), 'gap');
    pending.delete(1);
    outbox.answered(1);
    assert.deepEqual(resent(outbox, 3), ['d', 'e']);
  });
});
