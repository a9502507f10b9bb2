// Session records and delivery-log entries as Redis field/value strings, and back.
import type { EncodedPacket } from '../codec/types';
import type { LogEntry, LogTarget, SessionRecord } from './session-store';

/** A record as the value of its hash field: short keys, one JSON document (records change per join, not per message). */
export function encodeRecord(record: SessionRecord): string {
  return JSON.stringify({ v: 1, p: record.pid, s: record.sid, n: record.nsp, r: record.rooms, d: record.data, o: record.since, t: record.sinceTime, e: record.expiresAt });
}

/** The record back; undefined for anything this version did not write. */
export function decodeRecord(text: unknown): SessionRecord | undefined {
  if (typeof text !== 'string') return undefined;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (raw?.v !== 1 || typeof raw.p !== 'string' || typeof raw.s !== 'string' || typeof raw.n !== 'string' || !Array.isArray(raw.r)) return undefined;
  if (typeof raw.o !== 'number' || typeof raw.t !== 'number') return undefined;
  return {
    pid: raw.p,
    sid: raw.s,
    nsp: raw.n,
    rooms: raw.r as Array<string | number>,
    data: raw.d,
    since: raw.o,
    sinceTime: raw.t,
    expiresAt: typeof raw.e === 'number' ? raw.e : undefined,
  };
}

/** Text messages as `t<text>`, binary ones as `b<base64>`: a stream field holds a string either way. */
function encodeMessages(fields: string[], messages: EncodedPacket): void {
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    fields.push(`m${i}`, typeof m === 'string' ? `t${m}` : `b${m.toString('base64')}`);
  }
}

function encodeTarget(target: LogTarget): string {
  const flags = (target.volatile ? 'v' : '') + (target.local ? 'l' : '');
  return JSON.stringify([target.nsp, target.rooms, target.except, flags]);
}

/**
 * The field/value list of one XADD. The entry's offset is its stream id (`<offset>-0`), so it is not
 * a field; `t` is the node's clock (ms), what other nodes' entries are compared with.
 */
export function encodeEntry(entry: LogEntry): string[] {
  const fields = ['k', entry.kind, 't', String(entry.time)];
  switch (entry.kind) {
    case 'o':
      fields.push('i', entry.id, 'g', encodeTarget(entry.target));
      encodeMessages(fields, entry.messages);
      break;
    case 'd':
      fields.push('s', entry.sid);
      if (entry.volatile) fields.push('v', '1');
      encodeMessages(fields, entry.messages);
      break;
    case 'r':
      fields.push('i', entry.id, 'n', entry.nsp);
      break;
    default:
      break;
  }
  return fields;
}

/** One XRANGE reply item (`[id, [field, value, …]]`) back to an entry; undefined when malformed. */
export function decodeEntry(item: unknown): LogEntry | undefined {
  if (!Array.isArray(item) || item.length !== 2 || !Array.isArray(item[1])) return undefined;
  const offset = Number(String(item[0]).split('-', 1)[0]);
  const list = item[1] as unknown[];
  const fields = new Map<string, string>();
  const messages: EncodedPacket = [];
  for (let i = 0; i + 1 < list.length; i += 2) {
    const name = String(list[i]);
    const value = String(list[i + 1]);
    if (name.startsWith('m')) messages[Number(name.slice(1))] = value[0] === 'b' ? Buffer.from(value.slice(1), 'base64') : value.slice(1);
    else fields.set(name, value);
  }
  const time = Number(fields.get('t'));
  if (!Number.isSafeInteger(offset) || !Number.isFinite(time)) return undefined;
  switch (fields.get('k')) {
    case 'o': {
      const target = decodeTarget(fields.get('g'));
      const id = fields.get('i');
      return target && id ? { kind: 'o', offset, time, id, target, messages } : undefined;
    }
    case 'd': {
      const sid = fields.get('s');
      return sid ? { kind: 'd', offset, time, sid, volatile: fields.has('v'), messages } : undefined;
    }
    case 'r': {
      const id = fields.get('i');
      const nsp = fields.get('n');
      return id && nsp ? { kind: 'r', offset, time, id, nsp } : undefined;
    }
    case 'u':
      return { kind: 'u', offset, time };
    default:
      return undefined;
  }
}

function decodeTarget(text: string | undefined): LogTarget | undefined {
  if (!text) return undefined;
  try {
    const [nsp, rooms, except, flags] = JSON.parse(text) as [string, Array<string | number>, Array<string | number>, string];
    if (typeof nsp !== 'string' || !Array.isArray(rooms) || !Array.isArray(except) || typeof flags !== 'string') return undefined;
    return { nsp, rooms, except, volatile: flags.includes('v'), local: flags.includes('l') };
  } catch {
    return undefined;
  }
}
