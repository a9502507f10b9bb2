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

/**
 * Every packet a socket sends is logged here until the client is known to have it (a pong, or the
 * next polling GET, confirms everything written before it), so a dropped transport loses nothing:
 * the reconnecting client says the last offset it saw and gets the rest. Over the bound, entries
 * already written are dropped first (a later recovery from before them reports a gap).
 */
export class Outbox {
  private readonly log = new RingQueue<Entry>(4);
  private readonly limits: OutboxLimits;
  /** The last recovery offset put in this socket's stream. */
  lastOffset = -1;
  /** Client offsets up to here cannot be recovered: a packet after them was dropped unconfirmed. */
  lostThrough = -Infinity;

  constructor(limits: OutboxLimits, restored?: { missed: readonly MissedPacket[]; lostThrough: number }) {
    this.limits = limits;
    if (restored) {
      this.lostThrough = restored.lostThrough;
      for (const p of restored.missed) this.append(p.messages, p.offset, p.ackId, 0);
    }
  }

  get packets(): number {
    return this.log.length;
  }

  get bytes(): number {
    return this.log.bytes;
  }

  /** Whether one more packet of `bytes` fits without dropping anything. */
  fits(bytes: number): boolean {
    return this.log.length + 1 <= this.limits.maxQueuedPackets && this.log.bytes + bytes <= this.limits.maxQueuedBytes;
  }

  /**
   * Logs a packet. `mark` is the engine's message count after writing it (0 while no transport).
   * Returns false when the log is over its bound with nothing written left to drop.
   */
  append(messages: EncodedPacket, offset: number | undefined, ackId: number | undefined, mark: number, written = 0): boolean {
    const bytes = sizeOf(messages);
    const entry: Entry = { messages, offset, after: this.lastOffset, ackId, bytes, mark };
    if (offset !== undefined) this.lastOffset = offset;
    this.log.push(entry, bytes);
    return this.shrinkTo(written);
  }

  /** Drops written entries from the front while over the bound; false if unwritten ones overflow it. */
  private shrinkTo(written: number): boolean {
    const { maxQueuedPackets, maxQueuedBytes } = this.limits;
    while (this.log.length > maxQueuedPackets || this.log.bytes > maxQueuedBytes) {
      const oldest = this.log.peek() as Entry;
      if (oldest.mark === 0 || oldest.mark > written) return false;
      this.log.shift();
      this.lostThrough = Math.max(this.lostThrough, oldest.offset ?? oldest.after + 0.5);
    }
    return true;
  }

  /** The client has every message up to engine count `mark`: forget what it covers. */
  confirm(mark: number): void {
    for (let oldest = this.log.peek(); oldest && oldest.mark !== 0 && oldest.mark <= mark; oldest = this.log.peek()) {
      this.log.shift();
    }
  }

  /**
   * What to resend to a client whose last seen offset is `clientOffset` (undefined: it saw none).
   * Acked packets whose answer already came (`isPending` false) are not resent.
   */
  plan(clientOffset: number | undefined, isPending: (ackId: number) => boolean): ReplayPlan {
    const seen = clientOffset ?? -1;
    if (seen < this.lostThrough) return { ok: false, reason: 'gap' };
    const packets: MissedPacket[] = [];
    for (const entry of this.log) {
      const unseen = entry.offset !== undefined ? entry.offset > seen : entry.after >= seen;
      if (!unseen) continue;
      if (entry.ackId !== undefined && !isPending(entry.ackId)) continue;
      packets.push(entry);
    }
    return { ok: true, packets };
  }

  /** Rewrites marks after the log was resent on a new connection: entry i now ends at `marks[i]`. */
  remark(mark: (entry: MissedPacket) => number): void {
    for (const entry of this.log) entry.mark = mark(entry);
  }

  /** Marks everything unwritten (the transport is gone). */
  unwriteAll(): void {
    for (const entry of this.log) entry.mark = 0;
  }

  /** Serialisable copy for a session store (the messages are shared, not copied). */
  snapshot(): MissedPacket[] {
    const out: MissedPacket[] = [];
    for (const { messages, offset, after, ackId } of this.log) out.push({ messages, offset, after, ackId });
    return out;
  }

  clear(): void {
    this.log.clear();
  }
}

/** Bytes of an encoded packet (text as UTF-8). */
export function sizeOf(messages: EncodedPacket): number {
  let bytes = 0;
  for (const m of messages) bytes += typeof m === 'string' ? Buffer.byteLength(m) : m.length;
  return bytes;
}
