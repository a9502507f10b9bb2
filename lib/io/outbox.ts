// A socket's outbound log: what it was sent and the client has not confirmed, bounded, replayable.
import type { EncodedPacket } from '../codec/types';
import type { MissedPacket } from '../store/session-store';
import { RingQueue } from '../util/ring-queue';

/** One logged packet. `mark` is the engine's message count once it is written (0: not written yet). */
interface Entry extends MissedPacket {
  readonly bytes: number;
  mark: number;
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
  private readonly log = new RingQueue<Entry>(4);
  /** Acked emits the client confirmed but has not answered, by ack id, oldest first. */
  private readonly unanswered = new Map<number, Entry>();
  private unansweredBytes = 0;
  /** Unanswered acked emits dropped over the bound: a recovery while one is pending is a gap. */
  private readonly lostAnswers = new Set<number>();
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
      for (const p of restored.missed) this.append(p.messages, p.offset, p.ackId, 0, 0, p.after);
    }
  }

  get packets(): number {
    return this.log.length + this.unanswered.size;
  }

  get bytes(): number {
    return this.log.bytes + this.unansweredBytes;
  }

  /** Whether one more packet of `bytes` fits without dropping anything. */
  fits(bytes: number): boolean {
    return this.packets + 1 <= this.limits.maxQueuedPackets && this.bytes + bytes <= this.limits.maxQueuedBytes;
  }

  /**
   * Logs a packet. `mark` is the engine's message count after writing it (0 while no transport);
   * `after` is given for a packet resent on a new connection (its place in the stream is unchanged).
   * Returns false when the log is over its bound with nothing written left to drop.
   */
  append(messages: EncodedPacket, offset: number | undefined, ackId: number | undefined, mark: number, written = 0, after = this.lastOffset): boolean {
    const bytes = sizeOf(messages);
    const entry: Entry = { messages, offset, after, ackId, bytes, mark };
    if (offset !== undefined && offset > this.lastOffset) this.lastOffset = offset;
    this.log.push(entry, bytes);
    return this.shrinkTo(written);
  }

  /**
   * Drops written entries while over the bound, oldest first; false if unwritten ones overflow it.
   * Unanswered acked emits go last: the client most likely has the others, while losing one of those
   * fails every recovery until its answer comes.
   */
  private shrinkTo(written: number): boolean {
    const { maxQueuedPackets, maxQueuedBytes } = this.limits;
    while (this.packets > maxQueuedPackets || this.bytes > maxQueuedBytes) {
      const oldest = this.log.peek();
      if (oldest && oldest.mark !== 0 && oldest.mark <= written) {
        this.log.shift();
        if (oldest.ackId !== undefined) this.loseAnswer(oldest.ackId);
        else this.lostThrough = Math.max(this.lostThrough, oldest.offset ?? oldest.after + 0.5);
        continue;
      }
      const [first] = this.unanswered.values();
      if (!first) return false;
      this.forgetUnanswered(first);
      this.loseAnswer(first.ackId as number);
    }
    return true;
  }

  /** lostThrough for a session store: everything, while an unanswered emit is lost (see plan()). */
  get storedLostThrough(): number {
    for (const ackId of this.lostAnswers) if (this.pending.has(ackId)) return Infinity;
    return this.lostThrough;
  }

  private loseAnswer(ackId: number): void {
    if (this.pending.has(ackId)) this.lostAnswers.add(ackId);
  }

  private forgetUnanswered(entry: Entry): void {
    this.unanswered.delete(entry.ackId as number);
    this.unansweredBytes -= entry.bytes;
  }

  /** The client has every message up to engine count `mark`: forget what it covers but unanswered acks. */
  confirm(mark: number): void {
    for (let oldest = this.log.peek(); oldest && oldest.mark !== 0 && oldest.mark <= mark; oldest = this.log.peek()) {
      this.log.shift();
      if (oldest.ackId !== undefined && this.pending.has(oldest.ackId)) {
        this.unanswered.set(oldest.ackId, oldest);
        this.unansweredBytes += oldest.bytes;
      }
    }
  }

  /** The client answered (or the ack timed out): its emit is never resent. */
  answered(ackId: number): void {
    const entry = this.unanswered.get(ackId);
    if (entry) this.forgetUnanswered(entry);
    this.lostAnswers.delete(ackId);
  }

  /**
   * What to resend to a client whose last seen offset is `clientOffset` (undefined: it saw none):
   * every unanswered acked emit, and whatever else was sent after that offset, in the order sent.
   */
  plan(clientOffset: number | undefined): ReplayPlan {
    const seen = clientOffset ?? -1;
    if (seen < this.lostThrough) return { ok: false, reason: 'gap' };
    for (const ackId of this.lostAnswers) if (this.pending.has(ackId)) return { ok: false, reason: 'gap' };
    const packets: MissedPacket[] = [];
    for (const entry of this.unanswered.values()) if (this.pending.has(entry.ackId as number)) packets.push(entry);
    for (const entry of this.log) {
      if (entry.ackId !== undefined) {
        if (this.pending.has(entry.ackId)) packets.push(entry);
        continue;
      }
      if (entry.offset !== undefined ? entry.offset > seen : entry.after >= seen) packets.push(entry);
    }
    return { ok: true, packets };
  }

  /** Marks everything unwritten (the transport is gone). */
  unwriteAll(): void {
    for (const entry of this.log) entry.mark = 0;
  }

  /** Serialisable copy for a session store (the messages are shared, not copied). */
  snapshot(): MissedPacket[] {
    const out: MissedPacket[] = [];
    for (const { messages, offset, after, ackId } of this.unanswered.values()) out.push({ messages, offset, after, ackId });
    for (const { messages, offset, after, ackId } of this.log) out.push({ messages, offset, after, ackId });
    return out;
  }

  clear(): void {
    this.log.clear();
    this.unanswered.clear();
    this.unansweredBytes = 0;
    this.lostAnswers.clear();
  }
}

/** Bytes of an encoded packet (text as UTF-8). */
export function sizeOf(messages: EncodedPacket): number {
  let bytes = 0;
  for (const m of messages) bytes += typeof m === 'string' ? Buffer.byteLength(m) : m.length;
  return bytes;
}
