// State kept across transport drops: reconnect timeout, missed packets bounded. Serialisable, no live refs.
import type { EncodedPacket } from '../codec/types';

/** One packet the client may not have received, as it went on the wire (shared, never mutated). */
export interface MissedPacket {
  /** The encoded Engine.IO messages (text first, then binary attachments). */
  readonly messages: EncodedPacket;
  /** Recovery offset the packet carries, when it carries one. */
  readonly offset?: number;
  /** Last offset sent before this packet (its position in the stream). */
  readonly after: number;
  /** Ack id of an emit awaiting the client's answer. */
  readonly ackId?: number;
}

/** A suspended session: what a reconnecting client gets back. */
export interface SessionState {
  /** Private session id the client presents (`pid`). */
  readonly pid: string;
  /** Socket id, the same after recovery. */
  readonly sid: string;
  readonly nsp: string;
  readonly rooms: ReadonlyArray<string | number>;
  readonly data: unknown;
  /** Packets sent but not confirmed received, in order. */
  readonly missed: readonly MissedPacket[];
  /** Offsets at or below this may have lost packets: an older client offset cannot be recovered. */
  readonly lostThrough: number;
  /** ms since epoch after which the session is gone. */
  readonly expiresAt: number;
}

/**
 * Where suspended sessions wait for their client. The in-memory store is the default; a shared store
 * (several nodes) implements the same three calls, possibly asynchronously.
 */
export interface SessionStore {
  /** Keeps a suspended session until `state.expiresAt`. */
  keep(state: SessionState): void | Promise<void>;
  /** Takes a session back (it is removed from the store); undefined when unknown or expired. */
  restore(pid: string): SessionState | undefined | Promise<SessionState | undefined>;
  /** Drops a session (it ended, or its client came back elsewhere). */
  expire(pid: string): void | Promise<void>;
}

/** The default store: a Map, entries dropped when restored, expired, or read after their deadline. */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, SessionState>();

  get size(): number {
    return this.sessions.size;
  }

  keep(state: SessionState): void {
    this.sessions.set(state.pid, state);
  }

  restore(pid: string): SessionState | undefined {
    const state = this.sessions.get(pid);
    if (!state) return undefined;
    this.sessions.delete(pid);
    return state.expiresAt >= Date.now() ? state : undefined;
  }

  expire(pid: string): void {
    this.sessions.delete(pid);
  }
}
