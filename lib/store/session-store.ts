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

/** A session as a shared store keeps it for other nodes: written at connect, join/leave and suspend. */
export interface SessionRecord {
  readonly pid: string;
  readonly sid: string;
  readonly nsp: string;
  readonly rooms: ReadonlyArray<string | number>;
  readonly data: unknown;
  /** The node's offset counter when the session connected: a client that saw no offset resumes from here. */
  readonly since: number;
  /** ms since epoch (node clock) when `since` was taken. */
  readonly sinceTime: number;
  /** ms since epoch after which a suspended session is gone; undefined while its transport is live. */
  readonly expiresAt?: number;
}

/** Who a broadcast was for, as the adapter got it. */
export interface LogTarget {
  readonly nsp: string;
  readonly rooms: ReadonlyArray<string | number>;
  readonly except: ReadonlyArray<string | number>;
  /** Volatile packets are never replayed; local ones never left their node. */
  readonly volatile?: boolean;
  readonly local?: boolean;
}

/**
 * One entry of a node's delivery log, one per recovery offset the node hands out, in offset order:
 * a broadcast it originated (`o`: target and bytes), a direct emit (`d`: socket id and bytes), a
 * broadcast another node originated and this one delivered (`r`: the origin's packet id only), or one
 * whose origin gave it no id (`u`: an official socket.io node, an emitter), which no node can replay.
 */
export type LogEntry =
  | { readonly kind: 'o'; readonly offset: number; readonly time: number; readonly id: string; readonly target: LogTarget; readonly messages: EncodedPacket }
  | { readonly kind: 'd'; readonly offset: number; readonly time: number; readonly sid: string; readonly volatile?: boolean; readonly messages: EncodedPacket }
  | { readonly kind: 'r'; readonly offset: number; readonly time: number; readonly id: string; readonly nsp: string }
  | { readonly kind: 'u'; readonly offset: number; readonly time: number };

/** What a shared store hands back for a session another node held. */
export type RemoteRestore =
  | { readonly ok: true; readonly epoch: string; readonly record: SessionRecord; readonly packets: readonly EncodedPacket[] }
  | { readonly ok: false; readonly reason: 'unknownSession' | 'expired' | 'trimmed' | 'lostWrite' | 'unknownOrigin' | 'unreachable' };

/** What the io server gives a shared store when it starts using it. */
export interface StoreNode {
  /** This node's offset epoch: names its records and its log. */
  readonly epoch: string;
  /** ms a record and a log outlive their node's last refresh (reconnectTimeout plus a margin). */
  readonly ttl: number;
  /** ms a session waits for its client: a dead node's sessions are not restored past its last refresh plus this. */
  readonly reconnectTimeout: number;
  readonly log: import('../logger').Logger;
  /** Another node took session `pid` over: drop the local copy. */
  onTakeover(pid: string): void;
  /** Writes were dropped while the store was unreachable: the records of every live session, to rewrite. */
  records(): SessionRecord[];
}

/**
 * A store other nodes read (Redis): besides the SessionStore calls, session records written ahead of
 * any death, a bounded per-node delivery log, and the cross-node restore. Every write is fire-and-forget.
 */
export interface SharedSessionStore extends SessionStore {
  readonly shared: true;
  open(node: StoreNode): void;
  close(): Promise<void>;
  /** Writes (or rewrites) records, one command per call. */
  save(records: readonly SessionRecord[]): void;
  /** Deletes this node's records of `pids`. */
  drop(pids: readonly string[]): void;
  append(entry: LogEntry): void;
  /** Reads what a session of another node needs: its record and the packets its client missed. */
  fetch(pid: string, offset: string | undefined): Promise<RemoteRestore>;
  /** Takes the session from its node's records: true, it is ours now (no other node can take it). */
  claim(epoch: string, pid: string): Promise<boolean>;
  /** Gives a claimed session back (its client left during the claim), for its client's next attempt. */
  unclaim(epoch: string, record: SessionRecord): void;
  /**
   * Tells node `epoch` that session `pid` now lives elsewhere: its copy, if any, leaves. Resolves once it
   * has (at once when that node is gone), so that the cluster never lists the session twice; never rejects.
   */
  takeover(epoch: string, pid: string): Promise<void>;
}

/** Whether a store is shared between nodes. */
export function isShared(store: SessionStore): store is SharedSessionStore {
  return (store as Partial<SharedSessionStore>).shared === true;
}
