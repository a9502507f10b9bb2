// A socket's outbound log: what it was sent and the client has not confirmed, bounded, replayable.
import type { EncodedPacket } from '../codec/types';
import type { MissedPacket } from '../store/session-store';

/**
 * What the log keeps of one packet. A broadcast's is the encoder's meta, one record shared by every
 * socket it went to; what differs per socket (mark, place in the stream) lives in the socket's log.
 */
export interface LoggedPacket {
  readonly messages: EncodedPacket;
  /** Recovery offset the packet carries, if any. */
  readonly offset: number | undefined;
  /** Ack id of an emit awaiting the client's answer. */
  readonly ackId: number | undefined;
  /** Bytes of the messages (text as UTF-8). */
  readonly bytes: number;
}

/** An acked emit confirmed but not answered: kept with its place in the stream. */
interface Unanswered {
  readonly record: LoggedPacket;
  readonly after: number;
}

export interface OutboxLimits {
  /** Packets one socket may hold unconfirmed. */
  readonly maxQueuedPackets: number;
  /** Bytes one socket may hold unconfirmed. */
  readonly maxQueuedBytes: number;
}

/** What a reconnecting client is owed, or why it cannot be given. */
export type ReplayPlan = { ok: true; packets: MissedPacket[] } | { ok: false; reason: 'gap' };

/** Ack ids still waiting for the client's answer (the socket's pending acks). */
export interface PendingAcks {
  has(ackId: number): boolean;
}

/**
 * Every packet a socket sends is logged here until the client is known to have it (a pong, or the
 * next polling GET, confirms everything written before it), so a dropped transport loses nothing:
 * the reconnecting client says the last offset it saw and gets the rest. Over the bound, entries
 * already written are dropped first (a later recovery from before them reports a gap).
 *
 * An emit with an ack is kept until it is answered, confirmed or not: the drop may have lost the
 * client's answer, not the emit, and no offset tells which. Recovery resends every unanswered one.
 */
export class Outbox {
  /** Created on the first packet, dropped once confirmed empty: an idle socket holds no log. */
  private log: LogRing | undefined;
  /** Acked emits the client confirmed but has not answered, by ack id, oldest first (created on first use). */
  private unanswered: Map<number, Unanswered> | undefined;
  private unansweredBytes = 0;
  /** Unanswered acked emits dropped over the bound: a recovery while one is pending is a gap. */
  private lostAnswers: Set<number> | undefined;
  private readonly limits: OutboxLimits;
  private readonly pending: PendingAcks;
  /** The last recovery offset put in this socket's stream. */
  lastOffset = -1;
  /** Client offsets up to here cannot be recovered: a packet after them was dropped unconfirmed. */
  lostThrough = -Infinity;

  constructor(limits: OutboxLimits, pending: PendingAcks, restored?: { missed: readonly MissedPacket[]; lostThrough: number }) {
    this.limits = limits;
    this.pending = pending;
    if (restored) {
      this.lostThrough = restored.lostThrough;
      for (const p of restored.missed) this.append(recordOf(p, sizeOf(p.messages)), 0, 0, p.after);
    }
  }

  get packets(): number {
    return (this.log?.length ?? 0) + (this.unanswered?.size ?? 0);
  }

  get bytes(): number {
    return (this.log?.bytes ?? 0) + this.unansweredBytes;
  }

  /** Whether one more packet of `bytes` fits without dropping anything. */
  fits(bytes: number): boolean {
    return this.packets + 1 <= this.limits.maxQueuedPackets && this.bytes + bytes <= this.limits.maxQueuedBytes;
  }

  /**
   * Logs a packet (the record is kept as is, shared with other sockets' logs). `mark` is the engine's
   * message count after writing it (0 while no transport); `after` is given for a packet resent on a
   * new connection (its place in the stream is unchanged). Returns false when the log is over its
   * bound with nothing written left to drop.
   */
  append(record: LoggedPacket, mark: number, written = 0, after = this.lastOffset): boolean {
    const { offset } = record;
    if (offset !== undefined && offset > this.lastOffset) this.lastOffset = offset;
    // room first, so the log never holds one over its bound (its ring would double for that one)
    this.shrinkTo(written, 1, record.bytes);
    (this.log ??= new LogRing()).push(record, mark, after);
    return this.shrinkTo(written, 0, 0);
  }

  /**
   * Drops written entries while over the bound less room for `packets` more of `bytes`, oldest first;
   * false if unwritten ones overflow it.
   * Unanswered acked emits go last: the client most likely has the others, while losing one of those
   * fails every recovery until its answer comes.
   */
  private shrinkTo(written: number, packets: number, bytes: number): boolean {
    const maxPackets = this.limits.maxQueuedPackets - packets;
    const maxBytes = this.limits.maxQueuedBytes - bytes;
    while (this.packets > maxPackets || this.bytes > maxBytes) {
      const log = this.log;
      const mark = log && log.length > 0 ? log.markAt(0) : 0;
      if (log && mark !== 0 && mark <= written) {
        const record = log.recordAt(0);
        if (record.ackId !== undefined) this.loseAnswer(record.ackId);
        else this.lostThrough = Math.max(this.lostThrough, record.offset ?? log.afterAt(0) + 0.5);
        log.shift();
        continue;
      }
      const first = this.unanswered?.values().next().value;
      if (!first) return false;
      this.forgetUnanswered(first.record);
      this.loseAnswer(first.record.ackId as number);
    }
    return true;
  }

  /** lostThrough for a session store: everything, while an unanswered emit is lost (see plan()). */
  get storedLostThrough(): number {
    if (this.lostAnswers) for (const ackId of this.lostAnswers) if (this.pending.has(ackId)) return Infinity;
    return this.lostThrough;
  }

  private loseAnswer(ackId: number): void {
    if (this.pending.has(ackId)) (this.lostAnswers ??= new Set()).add(ackId);
  }

  private forgetUnanswered(record: LoggedPacket): void {
    this.unanswered?.delete(record.ackId as number);
    this.unansweredBytes -= record.bytes;
  }

  /** The client has every message up to engine count `mark`: forget what it covers but unanswered acks. */
  confirm(mark: number): void {
    const log = this.log;
    if (!log) return;
    while (log.length > 0) {
      const written = log.markAt(0);
      if (written === 0 || written > mark) break;
      const record = log.recordAt(0);
      if (record.ackId !== undefined && this.pending.has(record.ackId)) {
        (this.unanswered ??= new Map()).set(record.ackId, { record, after: log.afterAt(0) });
        this.unansweredBytes += record.bytes;
      }
      log.shift();
    }
    if (log.length === 0) this.log = undefined;
  }

  /** The client answered (or the ack timed out): its emit is never resent. */
  answered(ackId: number): void {
    const entry = this.unanswered?.get(ackId);
    if (entry) this.forgetUnanswered(entry.record);
    this.lostAnswers?.delete(ackId);
  }

  /**
   * What to resend to a client whose last seen offset is `clientOffset` (undefined: it saw none):
   * every unanswered acked emit, and whatever else was sent after that offset, in the order sent.
   */
  plan(clientOffset: number | undefined): ReplayPlan {
    const seen = clientOffset ?? -1;
    if (seen < this.lostThrough) return { ok: false, reason: 'gap' };
    if (this.lostAnswers) for (const ackId of this.lostAnswers) if (this.pending.has(ackId)) return { ok: false, reason: 'gap' };
    const packets: MissedPacket[] = [];
    if (this.unanswered) {
      for (const { record, after } of this.unanswered.values()) if (this.pending.has(record.ackId as number)) packets.push(missedOf(record, after));
    }
    const log = this.log;
    for (let i = 0; log && i < log.length; i++) {
      const record = log.recordAt(i);
      const after = log.afterAt(i);
      if (record.ackId !== undefined) {
        if (this.pending.has(record.ackId)) packets.push(missedOf(record, after));
        continue;
      }
      if (record.offset !== undefined ? record.offset > seen : after >= seen) packets.push(missedOf(record, after));
    }
    return { ok: true, packets };
  }

  /** Marks everything unwritten (the transport is gone). */
  unwriteAll(): void {
    const log = this.log;
    for (let i = 0; log && i < log.length; i++) log.setMarkAt(i, 0);
  }

  /** Serialisable copy for a session store (the messages are shared, not copied). */
  snapshot(): MissedPacket[] {
    const out: MissedPacket[] = [];
    if (this.unanswered) for (const { record, after } of this.unanswered.values()) out.push(missedOf(record, after));
    const log = this.log;
    for (let i = 0; log && i < log.length; i++) out.push(missedOf(log.recordAt(i), log.afterAt(i)));
    return out;
  }

  clear(): void {
    this.log = undefined;
    this.unanswered = undefined;
    this.unansweredBytes = 0;
    this.lostAnswers = undefined;
  }
}

/** A log record for a packet known by its MissedPacket form (restored from a store, resent on recovery). */
export function recordOf(packet: MissedPacket, bytes: number): LoggedPacket {
  return { messages: packet.messages, offset: packet.offset, ackId: packet.ackId, bytes };
}

function missedOf(record: LoggedPacket, after: number): MissedPacket {
  return { messages: record.messages, offset: record.offset, after, ackId: record.ackId };
}

/**
 * A socket's log: a growable circular array in lanes — the record, the engine mark (0: not written),
 * and, created with the first packet that has no offset (an ACK, a foreign broadcast), its place in
 * the stream — so an entry costs two or three slots and no object. A packet with an offset is placed
 * by it: its `after` is offset - 1, the same answer for every client offset.
 */
class LogRing {
  private records: Array<LoggedPacket | undefined> = new Array<LoggedPacket | undefined>(4);
  private marks: number[] = [0, 0, 0, 0];
  private afters: number[] | undefined;
  private head = 0;
  length = 0;
  bytes = 0;

  push(record: LoggedPacket, mark: number, after: number): void {
    if (this.length === this.records.length) this.grow();
    const i = (this.head + this.length) & (this.records.length - 1);
    this.records[i] = record;
    this.marks[i] = mark;
    if (record.offset === undefined) (this.afters ??= new Array<number>(this.records.length).fill(0))[i] = after;
    this.length++;
    this.bytes += record.bytes;
  }

  /** Drops the oldest entry. */
  shift(): void {
    const i = this.head;
    this.bytes -= (this.records[i] as LoggedPacket).bytes;
    this.records[i] = undefined;
    this.head = (i + 1) & (this.records.length - 1);
    this.length--;
  }

  recordAt(n: number): LoggedPacket {
    return this.records[(this.head + n) & (this.records.length - 1)] as LoggedPacket;
  }

  afterAt(n: number): number {
    const i = (this.head + n) & (this.records.length - 1);
    const { offset } = this.records[i] as LoggedPacket;
    return offset === undefined ? (this.afters as number[])[i] : offset - 1;
  }

  markAt(n: number): number {
    return this.marks[(this.head + n) & (this.records.length - 1)];
  }

  setMarkAt(n: number, mark: number): void {
    this.marks[(this.head + n) & (this.records.length - 1)] = mark;
  }

  private grow(): void {
    const capacity = this.records.length * 2;
    const records = new Array<LoggedPacket | undefined>(capacity);
    const marks = new Array<number>(capacity).fill(0);
    const afters = this.afters ? new Array<number>(capacity).fill(0) : undefined;
    for (let n = 0; n < this.length; n++) {
      const from = (this.head + n) & (this.records.length - 1);
      records[n] = this.records[from];
      marks[n] = this.marks[from];
      if (afters) afters[n] = (this.afters as number[])[from];
    }
    this.records = records;
    this.marks = marks;
    this.afters = afters;
    this.head = 0;
  }
}

/** Bytes of an encoded packet (text as UTF-8). */
export function sizeOf(messages: EncodedPacket): number {
  let bytes = 0;
  for (const m of messages) bytes += typeof m === 'string' ? Buffer.byteLength(m) : m.length;
  return bytes;
}
