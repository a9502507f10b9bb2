// Sessions shared between nodes on Redis: records and a bounded delivery log per node, written ahead of any death.
import type { Logger } from '../logger';
import { decodeEntry, decodeRecord, encodeEntry, encodeRecord } from './log-codec';
import { RingQueue } from '../util/ring-queue';
import { RedisLink, type RedisClientLike } from './redis-link';
import { planRestore } from './restore-plan';
import type { LogEntry, RemoteRestore, SessionRecord, SessionState, SharedSessionStore, StoreNode } from './session-store';

export type { RedisClientLike } from './redis-link';

export interface RedisSessionStoreOptions {
  /** Prefix of every key and channel. @default 'esio' */
  prefix?: string;
  /** Entries each node's delivery log keeps (XADD MAXLEN ~). @default 10000 */
  maxLogLength?: number;
  /** Writes sent and not yet answered; over it, writes are dropped (and a restore that needs them fails). @default 100000 */
  maxPendingWrites?: number;
  /** Bytes of those writes (their arguments); the same. @default 16777216 (16 MiB) */
  maxPendingBytes?: number;
  /** ms between two refreshes of this node's keys' TTL. @default 1000 */
  refreshInterval?: number;
  /** ms before a client's last packet from which another node's broadcast may not have reached its node yet. @default 2000 */
  margin?: number;
}

/** Entries read per XREVRANGE while walking a log back. */
const CHUNK = 256;
/** ms a restore waits for the old node to drop its copy (it answers within a round trip when alive). */
const TAKEOVER_WAIT_MS = 1000;
const OFFSET = /^([0-9a-f]{8})\.([0-9a-z]{1,12})$/;

/**
 * A shared session store on the user's own Redis client (node-redis v4/v5 or ioredis); it creates one
 * more connection, a duplicate, for its takeover channel (`<prefix>:takeover:<epoch>`). Keys:
 * `<prefix>:nodes` (zset of node epochs by last refresh), `<prefix>:s:<epoch>` (hash pid → session
 * record), `<prefix>:l:<epoch>` (stream, one entry per recovery offset the node handed out, id
 * `<offset>-0`). A node's keys live `ttl` ms past its last refresh, so a dead node's sessions vanish
 * after reconnectTimeout plus a margin.
 *
 * ```ts
 * socketio({ adapter: createAdapter(pub, sub), sessionStore: new RedisSessionStore(redisClient) })
 * ```
 */
export class RedisSessionStore implements SharedSessionStore {
  readonly shared = true as const;
  private readonly link: RedisLink;
  private readonly prefix: string;
  private readonly maxLogLength: number;
  private readonly maxPending: number;
  private readonly maxPendingBytes: number;
  private readonly refreshInterval: number;
  private readonly margin: number;
  private node: StoreNode | undefined;
  private log: Logger | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Sizes of the writes awaiting their answer, oldest first (one connection answers in order). */
  private readonly pending = new RingQueue<number>(64);
  private dropped = 0;
  /** Writes were dropped (Redis away, too many pending): records are rewritten once it answers again. */
  private resync = false;
  private logHasTtl = false;
  /** Takeovers sent and not answered yet, by pid. */
  private readonly waiting = new Map<string, () => void>();
  /** Log entries of this tick, flattened: stream id, field count, fields… */
  private readonly batch: string[] = [];
  private flushing: NodeJS.Immediate | undefined;
  private readonly onWritten = (): void => {
    this.pending.shift();
  };
  private readonly onWriteFailed = (err: unknown): void => {
    this.pending.shift();
    this.drop1(err);
  };

  constructor(client: RedisClientLike, opts: RedisSessionStoreOptions = {}) {
    this.link = new RedisLink(client);
    this.prefix = opts.prefix ?? 'esio';
    this.maxLogLength = opts.maxLogLength ?? 10000;
    this.maxPending = opts.maxPendingWrites ?? 100000;
    this.maxPendingBytes = opts.maxPendingBytes ?? 16 * 1024 * 1024;
    this.refreshInterval = opts.refreshInterval ?? 1000;
    this.margin = opts.margin ?? 2000;
  }

  /** Writes dropped so far because Redis was away or too slow. */
  get droppedWrites(): number {
    return this.dropped;
  }

  private key(kind: 's' | 'l', epoch: string): string {
    return `${this.prefix}:${kind}:${epoch}`;
  }

  // --- SessionStore: the io server writes through save/drop, these have nothing left to do ---

  keep(_state: SessionState): void {}

  restore(_pid: string): undefined {
    return undefined;
  }

  expire(_pid: string): void {}

  // --- node lifecycle ---

  open(node: StoreNode): void {
    this.node = node;
    this.log = node.log;
    this.refresh();
    this.timer = setInterval(onRefresh, this.refreshInterval, this);
    this.timer.unref();
    this.link
      .subscribe(this.channel(node.epoch), (message) => this.onTakeoverMessage(message), (err) => this.log?.warn({ err: errText(err) }, 'session store subscriber error'))
      .catch((err: unknown) => this.log?.warn({ err: errText(err) }, 'session store could not subscribe to takeovers'));
  }

  async close(): Promise<void> {
    if (this.flushing) {
      clearImmediate(this.flushing);
      this.flushLog();
    }
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.link.close();
  }

  /** @internal keeps this node's keys alive; rewrites every record after writes were dropped */
  refresh(): void {
    const node = this.node;
    if (!node || !this.link.ready) return;
    if (this.resync) {
      // what was dropped may have been a join, a leave or a suspend: every record is written again
      this.log?.info({ dropped: this.dropped }, 'session store reachable again: records rewritten');
      this.resync = false;
      this.save(node.records());
    }
    const now = Date.now();
    const ttl = String(node.ttl);
    const nodes = `${this.prefix}:nodes`;
    this.write(['ZADD', nodes, String(now), node.epoch]);
    this.write(['ZREMRANGEBYSCORE', nodes, '-inf', String(now - node.ttl)]);
    this.write(['PEXPIRE', nodes, ttl]);
    this.write(['PEXPIRE', this.key('s', node.epoch), ttl]);
    this.write(['PEXPIRE', this.key('l', node.epoch), ttl]);
  }

  /** Fire-and-forget: never awaited, never rejects; dropped (and counted) when Redis cannot take it now. */
  private write(args: string[]): void {
    let size = 0;
    for (const arg of args) size += arg.length;
    const pending = this.pending;
    if (!this.link.ready || pending.length >= this.maxPending || pending.bytes + size > this.maxPendingBytes) {
      this.drop1(undefined);
      return;
    }
    pending.push(size, size);
    this.link.send(args).then(this.onWritten, this.onWriteFailed);
  }

  private drop1(err: unknown): void {
    this.dropped++;
    // one line per outage, not one per dropped write
    if (!this.resync) this.log?.warn({ err: err === undefined ? undefined : errText(err) }, 'session store unreachable or too far behind: writes dropped');
    this.resync = true;
  }

  // --- writes ---

  save(records: readonly SessionRecord[]): void {
    const node = this.node;
    if (!node || records.length === 0) return;
    const args = ['HSET', this.key('s', node.epoch)];
    for (const record of records) {
      try {
        args.push(record.pid, encodeRecord(record));
      } catch (err) {
        // socket.data that JSON cannot hold (a cycle, a BigInt): that session cannot move to another node
        this.log?.warn({ err: errText(err), socketId: record.sid }, 'session record not written: socket.data is not JSON');
      }
    }
    if (args.length === 2) return;
    this.write(args);
    // a node killed before its first refresh must not leave records that never expire
    this.write(['PEXPIRE', this.key('s', node.epoch), String(node.ttl)]);
  }

  drop(pids: readonly string[]): void {
    if (!this.node || pids.length === 0) return;
    this.write(['HDEL', this.key('s', this.node.epoch), ...pids]);
  }

  /** Queues one log entry; the tick's entries go out together at its end, as one command. */
  append(entry: LogEntry): void {
    if (!this.node) return;
    const fields = encodeEntry(entry);
    this.batch.push(`${entry.offset}-0`, String(fields.length));
    for (const field of fields) this.batch.push(field);
    this.flushing ??= setImmediate(flushLog, this);
  }

  /** @internal the tick's entries, in offset order: one EVAL of XADDs (a command per entry costs more than the entry) */
  flushLog(): void {
    this.flushing = undefined;
    const node = this.node;
    if (!node || this.batch.length === 0) return;
    const key = this.key('l', node.epoch);
    const args = ['EVAL', APPEND_SCRIPT, '1', key, String(this.maxLogLength)];
    for (const arg of this.batch) args.push(arg);
    this.batch.length = 0;
    this.write(args);
    if (!this.logHasTtl) {
      this.logHasTtl = true;
      this.write(['PEXPIRE', key, String(node.ttl)]);
    }
  }

  // --- restore ---

  async fetch(pid: string, offset: string | undefined): Promise<RemoteRestore> {
    const own = this.node?.epoch;
    try {
      const match = offset === undefined ? null : OFFSET.exec(offset);
      if (offset !== undefined && !match) return { ok: false, reason: 'unknownSession' };
      const epochs = await this.nodes();
      // a session that moved (to a node that has not sent its client anything yet) is not where the offset says
      const found = (match ? await this.record(match[1], pid) : undefined) ?? (await this.findRecord(epochs.filter((e) => e !== own), pid));
      if (!found || found.epoch === own) return { ok: false, reason: 'unknownSession' };
      const { epoch, record } = found;
      if (record.expiresAt !== undefined ? record.expiresAt < Date.now() : await this.nodeGone(epoch)) return { ok: false, reason: 'expired' };
      // an offset of another node: the client has nothing of this one, from where the session started here
      const seen = match && match[1] === epoch ? parseInt(match[2], 36) : undefined;
      const walked = await this.walkBack(epoch, seen ?? record.since, record.sinceTime);
      const seenTime = walked.find((e) => e.offset === (seen ?? record.since))?.time ?? record.sinceTime;
      const others = new Map<string, LogEntry[]>();
      for (const other of epochs) if (other !== epoch) others.set(other, await this.walkBack(other, Infinity, seenTime));
      return planRestore({ epoch, record, seen, own: walked, others, margin: this.margin });
    } catch (err) {
      this.log?.warn({ err: errText(err) }, 'session store unreachable: restore refused');
      return { ok: false, reason: 'unreachable' };
    }
  }

  async claim(epoch: string, pid: string): Promise<boolean> {
    return Number(await this.link.send(['HDEL', this.key('s', epoch), pid])) === 1;
  }

  unclaim(epoch: string, record: SessionRecord): void {
    this.write(['HSET', this.key('s', epoch), record.pid, encodeRecord(record)]);
  }

  async takeover(epoch: string, pid: string): Promise<void> {
    const own = this.node?.epoch;
    if (!own) return;
    let done!: () => void;
    const answered = new Promise<void>((resolve) => (done = resolve));
    this.waiting.set(pid, done);
    const timer = setTimeout(done, TAKEOVER_WAIT_MS);
    try {
      // each node listens on its own channel: nobody listening there means the node is gone
      const listeners = Number(await this.link.send(['PUBLISH', this.channel(epoch), `take ${pid} ${own}`]));
      if (listeners > 0) await answered;
    } catch {
      // Redis away: the old node, if alive, keeps its copy until its own timeout
    } finally {
      clearTimeout(timer);
      this.waiting.delete(pid);
    }
  }

  /** The channel node `epoch` hears takeovers (and their answers) on. */
  private channel(epoch: string): string {
    return `${this.prefix}:takeover:${epoch}`;
  }

  /** A live session of a node that stopped refreshing longer than reconnectTimeout ago (it died). */
  private async nodeGone(epoch: string): Promise<boolean> {
    const node = this.node;
    const score = await this.link.send(['ZSCORE', `${this.prefix}:nodes`, epoch]);
    if (!node || score === null || score === undefined) return false;
    return Date.now() > Number(score) + this.refreshInterval + node.reconnectTimeout;
  }

  private async nodes(): Promise<string[]> {
    const reply = await this.link.send(['ZRANGE', `${this.prefix}:nodes`, '0', '-1']);
    return Array.isArray(reply) ? reply.map(String) : [];
  }

  private async record(epoch: string, pid: string): Promise<{ epoch: string; record: SessionRecord } | undefined> {
    const record = decodeRecord(await this.link.send(['HGET', this.key('s', epoch), pid]));
    return record ? { epoch, record } : undefined;
  }

  private async findRecord(epochs: string[], pid: string): Promise<{ epoch: string; record: SessionRecord } | undefined> {
    const found = await Promise.all(epochs.map((epoch) => this.record(epoch, pid)));
    return found.find((f) => f !== undefined);
  }

  /**
   * A node's log, ascending, from its newest entry back past `seen` and past `time - margin`: what a
   * restore compares (every entry after what the client saw, and the span where other nodes' packets
   * may or may not have reached the session's node). Bounded by the log's MAXLEN.
   */
  private async walkBack(epoch: string, seen: number, time: number): Promise<LogEntry[]> {
    const key = this.key('l', epoch);
    const start = time - this.margin;
    const out: LogEntry[] = [];
    let end = '+';
    for (let read = 0; read <= this.maxLogLength * 2; read += CHUNK) {
      const reply = await this.link.send(['XREVRANGE', key, end, '-', 'COUNT', String(CHUNK)]);
      const items = Array.isArray(reply) ? reply : [];
      for (const item of items) {
        const entry = decodeEntry(item);
        if (entry) out.push(entry);
      }
      const last = out[out.length - 1];
      if (items.length < CHUNK || !last || (last.offset < seen && last.time < start)) break;
      if (last.offset <= 0) break;
      end = `${last.offset - 1}-0`;
    }
    return out.reverse();
  }

  /** `take <pid> <from>`: drop the local copy, then answer `done <pid>` on the taker's channel. */
  private onTakeoverMessage(message: string): void {
    const [verb, pid, from] = message.split(' ');
    if (!pid) return;
    if (verb === 'done') {
      this.waiting.get(pid)?.();
      return;
    }
    if (verb !== 'take' || !from || !this.node) return;
    this.node.onTakeover(pid);
    this.write(['PUBLISH', this.channel(from), `done ${pid}`]);
  }
}

/** XADDs of several entries: KEYS[1] the log, ARGV[1] its MAXLEN, then per entry its id, field count and fields. */
const APPEND_SCRIPT = `local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], ARGV[i], unpack(ARGV, i + 2, i + 1 + n))
  i = i + 2 + n
end
return 1`;

function flushLog(store: RedisSessionStore): void {
  store.flushLog();
}

function onRefresh(store: RedisSessionStore): void {
  store.refresh();
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
