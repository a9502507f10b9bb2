// Cross-node restore as data: which logged packets a session's client missed, or why that cannot be known.
import type { EncodedPacket } from '../codec/types';
import type { LogEntry, LogTarget, RemoteRestore, SessionRecord } from './session-store';

/** What a shared store read for one restore. */
export interface RestoreInput {
  readonly epoch: string;
  readonly record: SessionRecord;
  /** The offset the client says it saw last (undefined: none, it resumes from `record.since`). */
  readonly seen: number | undefined;
  /** The session's node's log, ascending: every entry after `seen`, and before it back to the window start. */
  readonly own: readonly LogEntry[];
  /** The other nodes' logs by epoch, ascending, from before the window start (a hole in one fails the restore). */
  readonly others: ReadonlyMap<string, readonly LogEntry[]>;
  /** ms before the client's last packet from which other nodes' packets may not have reached its node. */
  readonly margin: number;
}

/** Whether a broadcast to `target` reached the session `record` describes. */
export function targets(target: LogTarget, record: SessionRecord): boolean {
  if (target.volatile || target.nsp !== record.nsp) return false;
  const rooms = new Set(record.rooms.map(String));
  for (const room of target.except) if (rooms.has(String(room))) return false;
  if (target.rooms.length === 0) return true;
  for (const room of target.rooms) if (rooms.has(String(room))) return true;
  return false;
}

/** True when the entries' offsets follow each other with no hole (a write that never reached the store). */
export function contiguous(entries: readonly LogEntry[]): boolean {
  for (let i = 1; i < entries.length; i++) if (entries[i].offset !== entries[i - 1].offset + 1) return false;
  return true;
}

/** A packet's identity across nodes: its id and the namespace it was encoded for (a parent namespace encodes one per child). */
function key(id: string, nsp: string): string {
  return `${nsp}\u0000${id}`;
}

/**
 * The packets the client missed, in order: what its node sent after `seen` (its own broadcasts and
 * direct emits, and other nodes' broadcasts it delivered), then what other nodes originated for the
 * session that its node never delivered (it died, or the client left it), oldest first.
 */
export function planRestore(input: RestoreInput): RemoteRestore {
  const { record, own, epoch } = input;
  const seen = input.seen ?? record.since;
  if (!contiguous(own)) return { ok: false, reason: 'lostWrite' };
  let seenTime = record.sinceTime;
  if (own.length > 0) {
    const first = own[0].offset;
    const last = own[own.length - 1].offset;
    // the client saw an offset its node never logged: what else it saw is unknown
    if (seen > last) return { ok: false, reason: 'lostWrite' };
    // the log no longer reaches back to what the client saw (MAXLEN trimmed it)
    if (seen < first - 1) return { ok: false, reason: 'trimmed' };
    const at = own.find((entry) => entry.offset === seen);
    if (at) seenTime = at.time;
  } else if (seen > record.since) {
    return { ok: false, reason: 'trimmed' };
  }
  const start = seenTime - input.margin;
  // what other nodes sent before the session arrived here was not for it here: it did not exist yet, or
  // the restore that brought it here dealt with it
  const floor = Math.max(start, record.sinceTime);
  const originated = new Map<string, LogEntry & { kind: 'o' }>();
  const relayed: Array<LogEntry & { kind: 'r' }> = [];
  for (const entries of input.others.values()) {
    if (!contiguous(entries)) return { ok: false, reason: 'lostWrite' };
    for (const entry of entries) {
      // every entry read resolves references (an origin logs a packet a little before others deliver it)
      if (entry.kind === 'o') originated.set(key(entry.id, entry.target.nsp), entry);
      if (entry.time < floor) continue;
      // an official node's (or an emitter's) broadcast: no node can tell whom it was for
      if (entry.kind === 'u') return { ok: false, reason: 'unknownOrigin' };
      if (entry.kind === 'r' && entry.nsp === record.nsp) relayed.push(entry);
    }
  }
  const own0 = new Set<string>();
  for (const entry of own) if (entry.kind === 'o') own0.add(key(entry.id, entry.target.nsp));
  // a broadcast other nodes delivered whose origin never logged it (it died between publishing and
  // logging): it may have been for this session, and nobody has its bytes
  for (const entry of relayed) {
    const k = key(entry.id, entry.nsp);
    if (!originated.has(k) && !own0.has(k)) return { ok: false, reason: 'lostWrite' };
  }
  const delivered = new Set<string>();
  for (const entry of own) if (entry.kind === 'r') delivered.add(key(entry.id, entry.nsp));
  const packets: EncodedPacket[] = [];
  for (const entry of own) {
    if (entry.offset <= seen) continue;
    switch (entry.kind) {
      case 'o':
        // its own broadcasts, local ones included: they reached this session's node
        if (targets(entry.target, record)) packets.push(entry.messages);
        break;
      case 'd':
        if (entry.sid === record.sid && !entry.volatile) packets.push(entry.messages);
        break;
      case 'r': {
        const origin = originated.get(key(entry.id, entry.nsp));
        // its origin's log no longer has it (trimmed, or the node expired): whom it was for is unknown
        if (!origin) return { ok: false, reason: 'trimmed' };
        if (targets(origin.target, record)) packets.push(origin.messages);
        break;
      }
      default:
        return { ok: false, reason: 'unknownOrigin' };
    }
  }
  const window = [...originated.entries()]
    .filter(([k, entry]) => entry.time >= floor && !delivered.has(k) && !entry.target.local && targets(entry.target, record))
    .map(([, entry]) => entry)
    .sort((a, b) => a.time - b.time);
  for (const entry of window) packets.push(entry.messages);
  return { ok: true, epoch, record, packets };
}
