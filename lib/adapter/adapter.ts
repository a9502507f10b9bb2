// Rooms <-> socket ids, with socket.io-adapter's surface so the official adapters plug in unchanged.
import { EventEmitter } from 'node:events';
import type { EncodedPacket, Encoder, Packet } from '../codec/types';
import type { Logger } from '../logger';

export type SocketId = string;
export type Room = string | number;

/** Flags a broadcast carries down to the connections. */
export interface BroadcastFlags {
  volatile?: boolean;
  compress?: boolean;
  local?: boolean;
  broadcast?: boolean;
  binary?: boolean;
  timeout?: number;
  expectSingleResponse?: boolean;
}

/** Who a broadcast (or fetchSockets, socketsJoin…) is for. */
export interface BroadcastOptions {
  rooms: Set<Room>;
  except?: Set<Room>;
  flags?: BroadcastFlags;
}

/** What the connection layer accepts pre-encoded packets through (socket.io's Client#writeToEngine). */
export interface WriteOptions {
  preEncoded?: boolean;
  volatile?: boolean;
  compress?: boolean;
}

/** The slice of a socket the adapter works with (socket.io's Socket has the same members). */
export interface AdapterSocket {
  readonly id: SocketId;
  readonly acks: Map<number, (...args: unknown[]) => void>;
  readonly client: { writeToEngine(packets: EncodedPacket, opts: WriteOptions): void };
  notifyOutgoingListeners?(packet: Packet): void;
  join(rooms: Room | Room[]): Promise<void> | void;
  leave(room: Room): Promise<void> | void;
  disconnect(close?: boolean): unknown;
}

/** The slice of a namespace the adapter works with (socket.io's Namespace has the same members). */
export interface AdapterNamespace {
  readonly name: string;
  readonly sockets: Map<SocketId, AdapterSocket>;
  /** `log`: where broadcast ack callbacks that throw or reject are reported. */
  readonly server: { readonly encoder: Encoder; readonly log?: Logger };
  /** Shared ack-id counter of the namespace (broadcasts with acks use one id for all). */
  _ids: number;
}

/** A persisted session, for adapters that recover connection state (socket.io-adapter's shape). */
export interface Session {
  sid: SocketId;
  pid: string;
  rooms: Room[];
  data: unknown;
  missedPackets?: unknown[][];
}

/**
 * What the io layer calls on an adapter: this package's Adapter and the official adapters (which extend
 * socket.io-adapter's class, the same surface) both have it. `new Adapter(nsp)` or the factory of an
 * official createAdapter() must return one. `apply(opts, fn)` is called too (a broadcast with acks lists
 * the local sockets that did not answer): socket.io-adapter declares it private, so it is not typed here.
 */
export type AdapterLike = Pick<
  Adapter,
  | 'nsp'
  | 'rooms'
  | 'sids'
  | 'init'
  | 'close'
  | 'serverCount'
  | 'addAll'
  | 'del'
  | 'delAll'
  | 'broadcast'
  | 'broadcastWithAck'
  | 'sockets'
  | 'socketRooms'
  | 'fetchSockets'
  | 'addSockets'
  | 'delSockets'
  | 'disconnectSockets'
  | 'serverSideEmit'
  | 'persistSession'
  | 'restoreSession'
> &
  Pick<EventEmitter, 'on' | 'off' | 'emit' | 'once'>;

/**
 * The default in-memory adapter. Same methods, fields and events as socket.io-adapter's `Adapter`
 * (`rooms`, `sids`, `addAll/del/delAll`, `broadcast`, `broadcastWithAck`, `fetchSockets`…,
 * `create-room/delete-room/join-room/leave-room`), so Redis, Postgres and cluster adapters that
 * extend that class can be given as the `adapter` option.
 */
/** The except set of a broadcast that excludes nobody: shared, never written. */
const NO_SIDS: ReadonlySet<SocketId> = new Set();

/** One recipient of a broadcast: outgoing listeners first, then the shared encoded packet. */
function writeTo(socket: AdapterSocket, packet: Packet, encoded: EncodedPacket, opts: WriteOptions): void {
  socket.notifyOutgoingListeners?.(packet);
  socket.client.writeToEngine(encoded, opts);
}

export class Adapter extends EventEmitter {
  readonly nsp: AdapterNamespace;
  readonly rooms = new Map<Room, Set<SocketId>>();
  readonly sids = new Map<SocketId, Set<Room>>();
  readonly encoder: Encoder;

  constructor(nsp: AdapterNamespace) {
    super();
    this.nsp = nsp;
    this.encoder = nsp.server.encoder;
  }

  /** To be overridden. */
  init(): Promise<void> | void {}

  /** To be overridden. */
  close(): Promise<void> | void {}

  /** Number of servers in the cluster. */
  serverCount(): Promise<number> {
    return Promise.resolve(1);
  }

  addAll(id: SocketId, rooms: Set<Room>): Promise<void> | void {
    let joined = this.sids.get(id);
    if (!joined) {
      joined = new Set();
      this.sids.set(id, joined);
    }
    for (const room of rooms) {
      joined.add(room);
      let members = this.rooms.get(room);
      if (!members) {
        members = new Set();
        this.rooms.set(room, members);
        this.emit('create-room', room);
      }
      if (!members.has(id)) {
        members.add(id);
        this.emit('join-room', room, id);
      }
    }
  }

  del(id: SocketId, room: Room): Promise<void> | void {
    this.sids.get(id)?.delete(room);
    this.removeFromRoom(room, id);
  }

  private removeFromRoom(room: Room, id: SocketId): void {
    const members = this.rooms.get(room);
    if (!members) return;
    if (members.delete(id)) this.emit('leave-room', room, id);
    if (members.size === 0 && this.rooms.delete(room)) this.emit('delete-room', room);
  }

  delAll(id: SocketId): void {
    const joined = this.sids.get(id);
    if (!joined) return;
    for (const room of joined) this.removeFromRoom(room, id);
    this.sids.delete(id);
  }

  /** Encodes the packet once and writes the same encoded messages to every target. */
  broadcast(packet: Packet, opts: BroadcastOptions): void {
    const flags = opts.flags ?? {};
    const writeOpts: WriteOptions = { preEncoded: true, volatile: flags.volatile, compress: flags.compress };
    packet.nsp = this.nsp.name;
    const encoded = this.encoder.encode(packet);
    const sockets = this.nsp.sockets;
    if (opts.rooms.size === 0 && (!opts.except || opts.except.size === 0)) {
      // everyone (io.emit): the plain loop, no except set, no callback per socket
      for (const id of this.sids.keys()) {
        const socket = sockets.get(id);
        if (socket) writeTo(socket, packet, encoded, writeOpts);
      }
      return;
    }
    this.apply(opts, (socket) => writeTo(socket, packet, encoded, writeOpts));
  }

  /** Like broadcast(), with one shared ack id; `ack` is called with each client's answer. */
  broadcastWithAck(
    packet: Packet,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: unknown[]) => void,
  ): void {
    const flags = opts.flags ?? {};
    const writeOpts: WriteOptions = { preEncoded: true, volatile: flags.volatile, compress: flags.compress };
    packet.nsp = this.nsp.name;
    // one id for every recipient: the namespace counter is shared, so it cannot collide
    packet.id = this.nsp._ids++;
    const encoded = this.encoder.encode(packet);
    let clientCount = 0;
    this.apply(opts, (socket) => {
      clientCount++;
      socket.acks.set(packet.id as number, ack);
      socket.notifyOutgoingListeners?.(packet);
      socket.client.writeToEngine(encoded, writeOpts);
    });
    clientCountCallback(clientCount);
  }

  /** Ids of the sockets in any of `rooms` (all sockets when empty). */
  sockets(rooms: Set<Room>): Promise<Set<SocketId>> {
    const ids = new Set<SocketId>();
    this.apply({ rooms }, (socket) => ids.add(socket.id));
    return Promise.resolve(ids);
  }

  socketRooms(id: SocketId): Set<Room> | undefined {
    return this.sids.get(id);
  }

  fetchSockets(opts: BroadcastOptions): Promise<AdapterSocket[]> {
    const found: AdapterSocket[] = [];
    this.apply(opts, (socket) => found.push(socket));
    return Promise.resolve(found);
  }

  addSockets(opts: BroadcastOptions, rooms: Room[]): void {
    this.apply(opts, (socket) => void socket.join(rooms));
  }

  delSockets(opts: BroadcastOptions, rooms: Room[]): void {
    this.apply(opts, (socket) => {
      for (const room of rooms) void socket.leave(room);
    });
  }

  disconnectSockets(opts: BroadcastOptions, close: boolean): void {
    this.apply(opts, (socket) => socket.disconnect(close));
  }

  /** Calls `callback` once for each local socket the options select. */
  apply(opts: BroadcastOptions, callback: (socket: AdapterSocket) => void): void {
    const { rooms } = opts;
    const except = opts.except && opts.except.size > 0 ? this.computeExceptSids(opts.except) : NO_SIDS;
    const sockets = this.nsp.sockets;
    if (rooms.size > 0) {
      // a socket in several target rooms gets the packet once
      const seen = rooms.size > 1 ? new Set<SocketId>() : undefined;
      for (const room of rooms) {
        const members = this.rooms.get(room);
        if (!members) continue;
        for (const id of members) {
          if (except.has(id) || seen?.has(id)) continue;
          const socket = sockets.get(id);
          if (!socket) continue;
          seen?.add(id);
          callback(socket);
        }
      }
      return;
    }
    for (const id of this.sids.keys()) {
      if (except.has(id)) continue;
      const socket = sockets.get(id);
      if (socket) callback(socket);
    }
  }

  computeExceptSids(exceptRooms: Set<Room> | undefined): Set<SocketId> {
    const ids = new Set<SocketId>();
    if (!exceptRooms) return ids;
    for (const room of exceptRooms) {
      const members = this.rooms.get(room);
      if (members) for (const id of members) ids.add(id);
    }
    return ids;
  }

  /** Sends to the other servers of the cluster; a single server has none, so an ack gets no answers. */
  serverSideEmit(packet: unknown[]): void {
    const last = packet[packet.length - 1];
    // (err, responses) as cluster adapters call it, asynchronously as they do
    if (typeof last === 'function') process.nextTick(last as (...a: unknown[]) => void, null, []);
  }

  /** Saves a session for recovery (adapters that support it override this). */
  persistSession(session: Session): void | Promise<void> {
    void session;
  }

  /** Restores a session and its missed packets (adapters that support it override this). */
  restoreSession(pid: string, offset: string): Promise<Session | null> | Session | null {
    void pid;
    void offset;
    return null;
  }
}
