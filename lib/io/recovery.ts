// Sessions that outlive their transport: suspend on a lost transport, resume on the client's recovery
// CONNECT (same id, rooms, data, missed packets), end after reconnectTimeout.
import type { Logger } from '../logger';
import type { SessionStore } from '../store/session-store';
import type { Client } from './client';
import type { DeliveryMetrics } from './delivery';
import type { Offsets } from './offsets';
import type { SharedSessions } from './shared-sessions';
import type { Socket } from './socket';

/** Transport losses a session survives; anything else (a protocol violation, a server close) ends it. */
const RECOVERABLE = new Set(['transport close', 'transport error', 'ping timeout']);

/** The slice of a Socket recovery works with. */
export interface RecoverableSocket {
  readonly id: string;
  readonly pid: string | undefined;
  readonly nsp: { readonly name: string };
  readonly connected: boolean;
  readonly rooms: Set<string | number>;
  readonly data: unknown;
  readonly acks: Map<number, unknown>;
  readonly client: import('./delivery').Delivery;
  /** Leaves for good with `reason` ('disconnect' fires). */
  onClose(reason: string, description?: unknown): void;
  /** The transport is gone, the session waits ('interrupted' fires). */
  onSuspend(reason: string): void;
  /** Back on `client`: CONNECT reply and 'resumed'. */
  onResume(client: Client): void;
}

interface Away {
  readonly socket: RecoverableSocket;
  readonly reason: string;
  readonly timer: NodeJS.Timeout;
}

export interface RecoveryOptions {
  /** ms a session waits for its client; 0 turns recovery off. */
  readonly reconnectTimeout: number;
  readonly store: SessionStore;
  readonly offsets: Offsets;
  readonly metrics: DeliveryMetrics;
  readonly log: Logger;
}

export class Recovery {
  readonly enabled: boolean;
  private readonly opts: RecoveryOptions;
  /** Sessions with a live transport, by pid (a recovery CONNECT may arrive before we notice it died). */
  private readonly live = new Map<string, RecoverableSocket>();
  private readonly away = new Map<string, Away>();
  /** With a shared store: sessions written where other nodes find them, and theirs restored here. */
  shared: SharedSessions | undefined;

  constructor(opts: RecoveryOptions) {
    this.opts = opts;
    this.enabled = opts.reconnectTimeout > 0;
  }

  /** Sessions waiting for their client right now. */
  get suspended(): number {
    return this.away.size;
  }

  register(socket: RecoverableSocket): void {
    if (!socket.pid) return;
    this.live.set(socket.pid, socket);
    this.shared?.register(socket as unknown as Socket);
  }

  /** The transport under `socket` is gone: keep the session if the reason allows; false = end it. */
  suspend(socket: RecoverableSocket, reason: string): boolean {
    const pid = socket.pid;
    if (!this.enabled || !pid || !socket.connected || !RECOVERABLE.has(reason) || this.away.has(pid)) return false;
    this.live.delete(pid);
    socket.client.detach();
    const timer = setTimeout(onExpired, this.opts.reconnectTimeout, this, pid);
    this.away.set(pid, { socket, reason, timer });
    const outbox = socket.client.outbox;
    const expiresAt = Date.now() + this.opts.reconnectTimeout;
    this.shared?.suspended(socket as unknown as Socket, expiresAt);
    void this.opts.store.keep({
      pid,
      sid: socket.id,
      nsp: socket.nsp.name,
      rooms: [...socket.rooms],
      data: socket.data,
      missed: outbox ? outbox.snapshot() : [],
      lostThrough: outbox ? outbox.storedLostThrough : -Infinity,
      expiresAt,
    });
    socket.onSuspend(reason);
    return true;
  }

  /** Stops waiting for `pid` (the caller restores it or drops it from the store). */
  private release(pid: string): Away | undefined {
    const entry = this.away.get(pid);
    if (!entry) return undefined;
    clearTimeout(entry.timer);
    this.away.delete(pid);
    return entry;
  }

  /** @internal reconnectTimeout passed without the client */
  expire(pid: string): void {
    const entry = this.release(pid);
    if (!entry) return;
    void this.opts.store.expire(pid);
    this.opts.metrics.expired++;
    this.opts.log.debug({ outcome: 'expired', socketId: entry.socket.id, reason: entry.reason }, 'session expired');
    entry.socket.onClose(entry.reason);
  }

  /** The session ended (any reason): forget it everywhere. */
  forget(socket: RecoverableSocket): void {
    const pid = socket.pid;
    if (!pid) return;
    this.live.delete(pid);
    this.shared?.forget(socket as unknown as Socket);
    // only a suspended session is in the store (a shared store would pay a round trip per disconnect)
    if (this.release(pid)) void this.opts.store.expire(pid);
  }

  /**
   * A CONNECT with `pid` (and `offset`): resumes the session on `client` when it can, sending what the
   * client missed first. False when it cannot (unknown, expired, a gap): the caller connects afresh.
   */
  resume(client: Client, nspName: string, auth: Record<string, unknown>): boolean {
    const pid = auth.pid;
    if (!this.enabled || typeof pid !== 'string') return false;
    const entry = this.away.get(pid);
    const socket = entry?.socket ?? this.live.get(pid);
    // not here: another node's session (it died, or the client left it), if a shared store has it
    if (!socket && this.shared) return this.shared.resumeRemote(client, nspName, auth);
    if (!socket || socket.nsp.name !== nspName) {
      this.opts.metrics.unknownSession++;
      // the pid is a credential (and this one client-chosen): never logged
      this.opts.log.debug({ outcome: 'unknownSession', nsp: nspName }, 'recovery: unknown session');
      return false;
    }
    const offsetText = auth.offset;
    const clientOffset = this.opts.offsets.parse(offsetText);
    const outbox = socket.client.outbox;
    const plan =
      offsetText !== undefined && clientOffset === undefined
        ? ({ ok: false, reason: 'gap' } as const)
        : outbox
          ? outbox.plan(clientOffset)
          : ({ ok: true, packets: [] } as const);
    if (!plan.ok) {
      this.opts.metrics.gap++;
      this.opts.log.info({ outcome: 'gap', socketId: socket.id }, 'recovery failed: packets were lost');
      // still live (half-open): its client is here on another connection, the old one is dead
      const stale = entry ? undefined : socket.client.current;
      socket.onClose(entry?.reason ?? 'transport close', 'recovery failed');
      stale?.close('transport close', true);
      return false;
    }
    if (entry) {
      this.release(pid);
    } else {
      // half-open: the client is back before we noticed its old transport died; take the session over
      // ('interrupted' first, so the app sees every 'resumed' after one 'interrupted')
      const stale = socket.client.current;
      socket.client.detach();
      stale?.removeSocket(socket as never);
      // a polling session holding no GET would otherwise wait for one (close timeout) in 'closing'
      stale?.close('transport close', true);
      socket.onSuspend('transport close');
    }
    void this.opts.store.restore(pid);
    socket.client.attach(client, plan.packets);
    this.live.set(pid, socket);
    this.shared?.resumed(socket as unknown as Socket);
    this.opts.metrics.recovered++;
    this.opts.log.debug({ outcome: 'recovered', socketId: socket.id, replayed: plan.packets.length }, 'session recovered');
    socket.onResume(client);
    return true;
  }

  /**
   * Another node restored session `pid` (its client reconnected there): the copy here leaves, suspended
   * or still live on a transport nobody uses any more, so that the cluster never holds it twice.
   */
  takenOver(pid: string): void {
    const entry = this.release(pid);
    const socket = entry?.socket ?? this.live.get(pid);
    if (!socket) return;
    this.opts.log.debug({ outcome: 'takenOver', socketId: socket.id }, 'session taken over by another node');
    const stale = entry ? undefined : socket.client.current;
    socket.onClose(entry?.reason ?? 'transport close', 'taken over by another node');
    stale?.close('transport close', true);
  }

  /** Ends every waiting session (server closing). */
  closeAll(reason: string): void {
    for (const pid of [...this.away.keys()]) {
      const entry = this.release(pid) as Away;
      void this.opts.store.expire(pid);
      entry.socket.onClose(reason);
    }
  }
}

function onExpired(recovery: Recovery, pid: string): void {
  recovery.expire(pid);
}
