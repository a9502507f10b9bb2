// socket.client: one socket's way out — its current connection (none while the client is away), the
// bounded send queue and replay log, and the refusals (queue full, slow consumer, destroyed).
import type { IncomingMessage } from 'node:http';
import type { EncodedPacket, Packet } from '../codec/types';
import type { BroadcastFlags, WriteOptions } from '../adapter/adapter';
import type { EngineSocket } from '../engine/session';
import { SocketIOError, type ErrorCode } from '../errors';
import type { Logger } from '../logger';
import type { Client } from './client';
import { Outbox, recordOf, type OutboxLimits, type PendingAcks } from './outbox';
import type { MissedPacket } from '../store/session-store';
import type { PacketMeta, TrackingEncoder } from './tracking-encoder';

/** Counters of the delivery and recovery machinery, readable as io.metrics. */
export interface DeliveryMetrics {
  recovered: number;
  expired: number;
  unknownSession: number;
  gap: number;
  queueRefused: number;
  slowConsumer: number;
}

/** What a socket's delivery needs from the server. */
export interface DeliveryHost {
  readonly encoder: TrackingEncoder;
  readonly limits: OutboxLimits;
  readonly metrics: DeliveryMetrics;
  /** A shared session store's log of direct emits (recovery across nodes). */
  readonly recorder?: { direct(sid: string, messages: EncodedPacket, offset: number | undefined, volatile: boolean | undefined): void };
}

/** What the delivery reports back to its socket. */
export interface DeliveryOwner {
  readonly id: string;
  readonly log: Logger;
  /** Acks still waiting for the client's answer: their emits are resent on recovery until answered. */
  readonly acks: PendingAcks;
  /** The client stopped reading while packets kept coming: the session ends. */
  onSlowConsumer(fields: Record<string, unknown>): void;
  /** Room again after a refused send. */
  onDrain(): void;
}

/**
 * Adapters see this as `socket.client` and call writeToEngine() with one encoded array for all the
 * recipients of a broadcast; everything a socket sends goes through deliver().
 */
export class Delivery {
  /** The connection carrying the socket now; undefined while the client is away. */
  current: Client | undefined;
  /** The last connection, for `socket.conn` / `socket.request` while away. */
  private last: Client;
  /** Replay log (recovery on) — undefined when recovery is off. */
  readonly outbox: Outbox | undefined;
  /** Set when the socket's session has ended: every send is refused with ERR_DESTROYED. */
  ended = false;
  private wantsDrain = false;
  private flushWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> | undefined;
  private readonly host: DeliveryHost;
  private readonly owner: DeliveryOwner;

  constructor(owner: DeliveryOwner, client: Client, host: DeliveryHost, recovery: boolean) {
    this.owner = owner;
    this.current = client;
    this.last = client;
    this.host = host;
    this.outbox = recovery ? new Outbox(host.limits, owner.acks) : undefined;
  }

  get conn(): EngineSocket {
    return this.last.conn;
  }

  get request(): IncomingMessage {
    return this.last.request;
  }

  get id(): string {
    return this.last.id;
  }

  /** The sockets sharing this connection, by id (socket.io's `client.sockets`). */
  get sockets(): Client['sockets'] {
    return this.last.sockets;
  }

  /** Encodes and delivers one packet for this socket alone. False when it was refused. */
  sendPacket(packet: Packet, flags: BroadcastFlags): boolean {
    const meta = this.host.encoder.encodeMeta(packet);
    this.host.recorder?.direct(this.owner.id, meta.messages, meta.offset, flags.volatile); // recovery across nodes
    return this.deliver(meta, flags, true);
  }

  /** Adapters' entry point: the same encoded array for every recipient of a broadcast. */
  writeToEngine(encoded: EncodedPacket, opts: WriteOptions): void {
    this.deliver(this.host.encoder.describe(encoded), opts, false);
  }

  /**
   * Queues an encoded packet: written at once when the connection can take it, logged for replay
   * (recovery on). A direct send that does not fit is refused (false); a broadcast that does not
   * fit means the client stopped reading, and the session ends ('slow consumer').
   */
  deliver(meta: PacketMeta, opts: WriteOptions, direct: boolean): boolean {
    if (this.ended) return this.refuse('ERR_DESTROYED', direct);
    const client = this.current;
    const { maxQueuedPackets, maxQueuedBytes } = this.host.limits;
    if (opts.volatile) {
      // dropped, not queued, when the client cannot take it right now
      if (client && client.conn.transport.writable && client.conn.pendingBytes + meta.bytes <= maxQueuedBytes) {
        client.conn.sendPackets(meta.packets, meta.bytes, !direct);
      }
      return true;
    }
    const outbox = meta.replayable ? this.outbox : undefined;
    if (!client) {
      if (!outbox) return this.refuse('ERR_DESTROYED', direct);
      if (!outbox.fits(meta.bytes)) return this.overflow(direct);
      outbox.append(meta, 0);
      return true;
    }
    const conn = client.conn;
    if (conn.pendingPackets + meta.packets.length > maxQueuedPackets || conn.pendingBytes + meta.bytes > maxQueuedBytes) {
      return this.overflow(direct);
    }
    // a broadcast's packets are shared: its record in this log costs a slot, not an object of its own
    const mark = conn.sendPackets(meta.packets, meta.bytes, !direct);
    // the meta is the log's record: one per packet, shared by every socket it went to
    if (outbox && !outbox.append(meta, mark > 0 ? mark : 0, conn.flushedMessages)) return this.overflow(false);
    return true;
  }

  private refuse(code: ErrorCode, direct: boolean): boolean {
    if (direct && code === 'ERR_QUEUE_FULL') {
      this.host.metrics.queueRefused++;
      // one warning per full queue (until 'drain'), not one per refused emit of an app retrying in a loop
      if (!this.wantsDrain) {
        this.owner.log.warn({ code, limit: this.host.limits.maxQueuedPackets, bytesLimit: this.host.limits.maxQueuedBytes }, 'send refused: queue full');
      }
      this.wantsDrain = true;
      this.current?.watchDrain();
    }
    return false;
  }

  private overflow(direct: boolean): boolean {
    if (direct) return this.refuse('ERR_QUEUE_FULL', true);
    this.host.metrics.slowConsumer++;
    this.owner.onSlowConsumer({
      socketId: this.owner.id,
      packets: this.outbox?.packets,
      bytes: this.current?.conn.pendingBytes,
      limit: this.host.limits.maxQueuedBytes,
    });
    return false;
  }

  /** @internal the connection wrote what it held: report room after a refusal */
  onConnectionDrain(): void {
    if (this.flushWaiters) this.checkFlushed();
    if (this.wantsDrain && this.current) {
      const conn = this.current.conn;
      if (conn.pendingPackets <= this.host.limits.maxQueuedPackets / 2 && conn.pendingBytes <= this.host.limits.maxQueuedBytes / 2) {
        this.wantsDrain = false;
        this.owner.onDrain();
      }
    }
    // still waiting (or waiting again: onDrain may have filled the queue): listen for the next one
    if (this.wantsDrain || this.flushWaiters) this.current?.watchDrain();
  }

  /** The transport is gone: nothing is written until attach(); the log keeps it all. */
  detach(): void {
    this.current = undefined;
    this.outbox?.unwriteAll();
  }

  /** A new connection: resend what the client missed (before anything else), then carry on. */
  attach(client: Client, missed: readonly MissedPacket[]): void {
    this.current = client;
    this.last = client;
    const conn = client.conn;
    const outbox = this.outbox;
    outbox?.clear();
    for (const packet of missed) {
      const meta = this.host.encoder.describe(packet.messages);
      const mark = conn.sendPackets(meta.packets, meta.bytes);
      outbox?.append(recordOf(packet, meta.bytes), Math.max(mark, 0), conn.flushedMessages, packet.after);
    }
    if (this.flushWaiters) this.checkFlushed();
    if (this.wantsDrain || this.flushWaiters) client.watchDrain();
  }

  /** Writes a control packet (CONNECT reply, DISCONNECT, CONNECT_ERROR): never logged, never refused. */
  sendControl(packet: Packet): void {
    const client = this.current;
    if (!client || client.conn.readyState !== 'open') return;
    const meta = this.host.encoder.encodeMeta(packet);
    client.conn.sendPackets(meta.packets, meta.bytes);
  }

  /** @internal */
  removeSocket(socket: { id: string; nsp: { name: string } }): void {
    this.current?.removeSocket(socket as never);
  }

  /** socket.disconnect(true): every namespace of the connection leaves, the connection closes. */
  disconnectAll(): void {
    this.current?.disconnectAll();
  }

  /** The session is over: refuse every send from now on, fail flushed() waiters. */
  end(): void {
    this.ended = true;
    this.outbox?.clear();
    const waiters = this.flushWaiters;
    this.flushWaiters = undefined;
    if (waiters) for (const w of waiters) w.reject(new SocketIOError('ERR_DESTROYED'));
  }

  /**
   * Resolves once nothing of this connection waits for the transport any more. What the transport
   * itself still buffers (ws's bufferedAmount) was handed over: no event would say when it is gone
   * (a corked or kernel-bound write leaves no 'drain'), so waiting for it could hang.
   */
  flushed(): Promise<void> {
    if (this.ended) return Promise.reject(new SocketIOError('ERR_DESTROYED'));
    if (this.current && this.current.conn.pendingPackets === 0) return Promise.resolve();
    this.current?.watchDrain();
    return new Promise((resolve, reject) => {
      (this.flushWaiters ??= []).push({ resolve, reject });
    });
  }

  private checkFlushed(): void {
    const waiters = this.flushWaiters;
    const conn = this.current?.conn;
    if (!waiters || !conn || conn.pendingPackets > 0) return;
    this.flushWaiters = undefined;
    for (const w of waiters) w.resolve();
  }

  /** The error a refused send stands for. */
  static errorFor(ended: boolean): SocketIOError {
    return ended ? new SocketIOError('ERR_DESTROYED') : new SocketIOError('ERR_QUEUE_FULL');
  }
}
