// Recovery across nodes: records and the delivery log written to a shared store, other nodes' sessions restored here.
import type { Adapter, BroadcastOptions } from '../adapter/adapter';
import { PacketType, type Codec, type EncodedPacket, type Packet } from '../codec/types';
import type { Logger } from '../logger';
import type { RemoteRestore, SessionRecord, SharedSessionStore } from '../store/session-store';
import type { Client } from './client';
import type { DeliveryMetrics } from './delivery';
import type { Namespace } from './namespace';
import type { Offsets } from './offsets';
import type { Recovery } from './recovery';
import { Socket } from './socket';

/** Where a broadcast's target rides along with its packet on this node (a symbol: never serialised). */
const kTarget = Symbol('target');

/** A packet this node broadcast: `rid` crosses to the other nodes inside the adapter's message. */
type OriginPacket = Packet & { rid?: unknown; [kTarget]?: BroadcastOptions };

interface Tracked {
  readonly socket: Socket;
  readonly since: number;
  readonly sinceTime: number;
  expiresAt: number | undefined;
}

export interface SharedSessionsOptions {
  readonly store: SharedSessionStore;
  readonly offsets: Offsets;
  readonly codec: Codec;
  readonly reconnectTimeout: number;
  readonly metrics: DeliveryMetrics;
  readonly log: Logger;
  /** The namespace called `name`, if it exists. */
  namespaceOf(name: string): Namespace | undefined;
}

/**
 * The io side of a shared session store. Per message it adds one fire-and-forget log entry (and a
 * packet id on broadcasts this node originates); per session, one record write at connect, join,
 * leave and suspend, batched to the end of the tick.
 */
export class SharedSessions {
  private readonly opts: SharedSessionsOptions;
  private readonly store: SharedSessionStore;
  private readonly bySid = new Map<string, Tracked>();
  private readonly dirty = new Set<Tracked>();
  private readonly gone = new Set<string>();
  private flushing: NodeJS.Immediate | undefined;
  private originated = 0;
  /** handOver() ran: nothing is followed any more. */
  private closed = false;
  recovery!: Recovery;

  constructor(opts: SharedSessionsOptions) {
    this.opts = opts;
    this.store = opts.store;
    this.store.open({
      epoch: opts.offsets.epoch,
      // the records of a node that died stay readable for a whole reconnectTimeout after its last refresh
      ttl: opts.reconnectTimeout + 5000,
      reconnectTimeout: opts.reconnectTimeout,
      log: opts.log,
      onTakeover: (pid) => this.recovery.takenOver(pid),
      records: () => [...this.bySid.values()].map((t) => this.recordOf(t)),
    });
  }

  /** Joins and leaves rewrite the session's record (listened to on the adapter, as any adapter emits them). */
  watch(adapter: Adapter): void {
    adapter.on('join-room', (_room: unknown, id: string) => this.touch(id));
    adapter.on('leave-room', (_room: unknown, id: string) => this.touch(id));
  }

  private touch(sid: string): void {
    const tracked = this.bySid.get(sid);
    if (tracked) this.mark(tracked);
  }

  private mark(tracked: Tracked): void {
    this.dirty.add(tracked);
    // at the end of the tick: what the connection handler sets (data, joins) is in the first write
    this.flushing ??= setImmediate(flush, this);
  }

  /** @internal writes the records changed this tick and deletes the ended ones: one command each */
  flush(): void {
    this.flushing = undefined;
    const records: SessionRecord[] = [];
    for (const tracked of this.dirty) if (tracked.socket.connected) records.push(this.recordOf(tracked));
    this.dirty.clear();
    this.store.save(records);
    this.store.drop([...this.gone]);
    this.gone.clear();
  }

  private recordOf(tracked: Tracked): SessionRecord {
    const { socket } = tracked;
    return {
      pid: socket.pid as string,
      sid: socket.id,
      nsp: socket.nsp.name,
      rooms: [...socket.rooms],
      data: socket.data,
      since: tracked.since,
      sinceTime: tracked.sinceTime,
      expiresAt: tracked.expiresAt,
    };
  }

  // --- session lifecycle (called by Recovery) ---

  register(socket: Socket): void {
    if (!socket.pid || this.closed) return;
    const tracked: Tracked = { socket, since: this.opts.offsets.current, sinceTime: Date.now(), expiresAt: undefined };
    this.bySid.set(socket.id, tracked);
    this.gone.delete(socket.pid);
    this.mark(tracked);
  }

  suspended(socket: Socket, expiresAt: number): void {
    const tracked = this.bySid.get(socket.id);
    if (!tracked) return;
    tracked.expiresAt = expiresAt;
    this.mark(tracked);
  }

  resumed(socket: Socket): void {
    const tracked = this.bySid.get(socket.id);
    if (!tracked) return;
    tracked.expiresAt = undefined;
    this.mark(tracked);
  }

  forget(socket: Socket): void {
    const tracked = this.bySid.get(socket.id);
    if (!tracked || tracked.socket !== socket) return;
    this.bySid.delete(socket.id);
    this.dirty.delete(tracked);
    if (socket.pid) this.gone.add(socket.pid);
    this.flushing ??= setImmediate(flush, this);
  }

  // --- the delivery log ---

  /** A broadcast leaves this node's API: an id the other nodes log it by, and its target for our own entry. */
  originate(packet: Packet, opts: BroadcastOptions): void {
    const p = packet as OriginPacket;
    p.rid = `${this.opts.offsets.epoch}.${(++this.originated).toString(36)}`;
    p[kTarget] = opts;
  }

  /** A broadcast was encoded for this node's sockets with recovery offset `offset`. */
  stamped(packet: Packet, encoded: EncodedPacket, offset: number): void {
    const p = packet as OriginPacket;
    const time = Date.now();
    const target = p[kTarget];
    if (typeof p.rid !== 'string') {
      this.store.append({ kind: 'u', offset, time });
    } else if (target) {
      const flags = target.flags ?? {};
      this.store.append({
        kind: 'o',
        offset,
        time,
        id: p.rid,
        target: { nsp: packet.nsp, rooms: [...target.rooms], except: [...(target.except ?? [])], volatile: flags.volatile, local: flags.local },
        messages: encoded,
      });
    } else {
      this.store.append({ kind: 'r', offset, time, id: p.rid, nsp: packet.nsp });
    }
  }

  /** A packet for one socket (socket.emit): logged with its bytes when it carries an offset. */
  direct(sid: string, encoded: EncodedPacket, offset: number | undefined, volatile: boolean | undefined): void {
    if (offset === undefined) return;
    this.store.append({ kind: 'd', offset, time: Date.now(), sid, volatile, messages: encoded });
  }

  // --- restoring another node's session ---

  /**
   * The client asks for a session this node does not hold: look for it in the store. Always answers
   * true (the CONNECT is handled): asynchronously, either the session comes back here, or the client
   * connects afresh (the CONNECT runs again without pid and offset).
   */
  resumeRemote(client: Client, nspName: string, auth: Record<string, unknown>): boolean {
    const pid = auth.pid as string;
    const offset = typeof auth.offset === 'string' ? auth.offset : undefined;
    const { pid: _pid, offset: _offset, ...rest } = auth;
    this.store
      .fetch(pid, offset)
      .then(
        (found) => this.finishRemote(client, nspName, pid, rest, found),
        () => this.finishRemote(client, nspName, pid, rest, { ok: false, reason: 'unreachable' }),
      )
      .catch((err: unknown) => {
        // our bug (a stored packet the codec refuses…): the client is left to its connect timeout
        this.opts.log.error({ err, nsp: nspName }, 'recovery across nodes threw');
      });
    return true;
  }

  private async finishRemote(client: Client, nspName: string, pid: string, auth: Record<string, unknown>, found: RemoteRestore): Promise<void> {
    const nsp = this.opts.namespaceOf(nspName);
    if (!nsp || client.conn.readyState !== 'open') return;
    if (found.ok && found.record.nsp === nspName && (await this.claim(found.epoch, pid))) {
      // the old node (if alive) drops its copy first: the cluster never holds the session twice
      await this.store.takeover(found.epoch, pid);
      if (client.conn.readyState !== 'open') {
        // gone meanwhile: the session waits where it was for the client's next attempt
        this.store.unclaim(found.epoch, { ...found.record, expiresAt: found.record.expiresAt ?? Date.now() + this.opts.reconnectTimeout });
        return;
      }
      this.adopt(nsp, client, found.record, found.packets, auth);
      return;
    }
    const reason = !found.ok ? found.reason : found.record.nsp !== nspName ? 'unknownSession' : 'claimed';
    if (reason === 'unknownSession') this.opts.metrics.unknownSession++;
    else this.opts.metrics.gap++;
    this.opts.log.info({ outcome: reason, nsp: nspName }, 'recovery across nodes failed');
    nsp.addSocket(client, auth);
  }

  private claim(epoch: string, pid: string): Promise<boolean> {
    return this.store.claim(epoch, pid).catch(() => false);
  }

  /**
   * The session comes back on this node: same id, pid, rooms and data; the missed packets are sent
   * again (with this node's offsets, so they are in its log) before the CONNECT reply; 'connection'
   * fires with `socket.recovered` true. Connection middleware does not run again (as for a local recovery).
   */
  private adopt(nsp: Namespace, client: Client, record: SessionRecord, packets: readonly EncodedPacket[], auth: Record<string, unknown>): void {
    const socket = new Socket(nsp, client, auth);
    const writable = socket as unknown as { id: string; log: Logger };
    writable.id = record.sid;
    writable.log = client.conn.log.child({ nsp: nsp.name, socketId: record.sid });
    socket.data = record.data;
    socket.pid = record.pid;
    socket.connected = true;
    nsp.sockets.set(socket.id, socket);
    client.connectDone(nsp.name, socket);
    void socket.join([record.sid, ...record.rooms.filter((room) => room !== record.sid)]);
    // registered before the replay: if this node dies too, the next one replays it again from here
    this.recovery.register(socket);
    for (const args of this.decode(packets)) (socket.emit as (...a: unknown[]) => boolean)(...args);
    this.opts.metrics.recovered++;
    this.opts.log.debug({ outcome: 'recovered', socketId: socket.id, replayed: packets.length }, 'session recovered from another node');
    socket.onResume(client);
    nsp.emitReserved('connect', socket);
    nsp.emitReserved('connection', socket);
  }

  /** The events' arguments, without the offset their first node appended (this node appends its own). */
  private decode(packets: readonly EncodedPacket[]): unknown[][] {
    const out: unknown[][] = [];
    const decoder = this.opts.codec.createDecoder();
    decoder.on('decoded', (packet: Packet) => {
      if ((packet.type !== PacketType.EVENT && packet.type !== PacketType.BINARY_EVENT) || !Array.isArray(packet.data)) return;
      const args = [...(packet.data as unknown[])];
      args.pop();
      out.push(args);
    });
    try {
      for (const messages of packets) for (const m of messages) decoder.add(m);
    } finally {
      decoder.destroy();
    }
    return out;
  }

  /**
   * The node is closing (io.close()): every live session is written as suspended, for another node to
   * restore within reconnectTimeout, and no longer followed here (its local end deletes nothing).
   */
  handOver(): void {
    const expiresAt = Date.now() + this.opts.reconnectTimeout;
    for (const tracked of this.bySid.values()) {
      tracked.expiresAt ??= expiresAt;
      this.dirty.add(tracked);
    }
    this.flush();
    this.bySid.clear();
    this.closed = true;
  }

  close(): Promise<void> {
    if (this.flushing) {
      clearImmediate(this.flushing);
      this.flush();
    }
    return this.store.close();
  }
}

function flush(sessions: SharedSessions): void {
  sessions.flush();
}

/** The part of the io server a broadcast asks for its packet id. */
export interface OriginHost {
  readonly sharedSessions?: SharedSessions;
}
