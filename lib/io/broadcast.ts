// to / in / except / volatile / local / timeout: selects targets, encodes once through the adapter.
import { PacketType, RESERVED_EVENTS, type Packet } from '../codec/types';
import type { Adapter, BroadcastFlags, Room } from '../adapter/adapter';
import type {
  DecorateAcknowledgements,
  DefaultEventsMap,
  EmitWithAckArgs,
  EmitWithAckResult,
  EventNames,
  EventParams,
  EventsMap,
  EventWithTimeout,
  NotReserved,
} from './events';
import { callApp } from './app-call';
import { bounded, requestTimeout } from './cluster-request';
import { RemoteSocket, type SocketDetails } from './remote-socket';
import type { OriginHost } from './shared-sessions';

/** Error passed to a broadcast ack callback when some clients did not answer in time. */
export interface BroadcastTimeoutError extends Error {
  /** Ids of the local sockets that did not answer. */
  missing: string[];
  /** The answers that did arrive. */
  responses: unknown[];
}

/** The part of a local Socket that fetchSockets() hands back as is. */
interface LocalSocketLike {
  readonly server: unknown;
}

function toRoomSet(current: ReadonlySet<Room>, room: Room | readonly Room[]): Set<Room> {
  const rooms = new Set(current);
  if (Array.isArray(room)) for (const r of room) rooms.add(r);
  else rooms.add(room as Room);
  return rooms;
}

/**
 * An immutable selection of targets: every modifier returns a new operator. `EmitEvents` is the map
 * as a broadcast sees it (io.to() and friends pass DecorateAcknowledgementsWithMultipleResponses:
 * an ack collects one answer per client), so emit() takes it as it is.
 */
export class BroadcastOperator<EmitEvents extends EventsMap = DefaultEventsMap, SocketData = unknown> {
  protected readonly adapter: Adapter;
  protected readonly rooms: ReadonlySet<Room>;
  protected readonly exceptRooms: ReadonlySet<Room>;
  protected readonly flags: Readonly<BroadcastFlags>;

  constructor(adapter: Adapter, rooms: ReadonlySet<Room> = new Set(), exceptRooms: ReadonlySet<Room> = new Set(), flags: BroadcastFlags = {}) {
    this.adapter = adapter;
    this.rooms = rooms;
    this.exceptRooms = exceptRooms;
    this.flags = flags;
  }

  /** Targets the sockets in `room` (several calls add up: a union of rooms). */
  to(room: Room | readonly Room[]): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, toRoomSet(this.rooms, room), this.exceptRooms, this.flags);
  }

  /** Alias of to(). */
  in(room: Room | readonly Room[]): BroadcastOperator<EmitEvents, SocketData> {
    return this.to(room);
  }

  /** Leaves out the sockets in `room`. */
  except(room: Room | readonly Room[]): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, toRoomSet(this.exceptRooms, room), this.flags);
  }

  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, this.exceptRooms, { ...this.flags, compress });
  }

  /** Drops the packet for clients that cannot take it right now instead of queueing it. */
  get volatile(): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, this.exceptRooms, { ...this.flags, volatile: true });
  }

  /** Only this node's clients, with a cluster adapter. */
  get local(): BroadcastOperator<EmitEvents, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, this.exceptRooms, { ...this.flags, local: true });
  }

  /** The ack callback of the next emit gets (err, responses) and is called after `ms` at the latest. */
  timeout(ms: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents, BroadcastTimeoutError>, SocketData> {
    return new BroadcastOperator(this.adapter, this.rooms, this.exceptRooms, { ...this.flags, timeout: ms });
  }

  /** Emits to every selected client; a trailing function collects one answer per client. */
  emit<Ev extends EventNames<EmitEvents>>(ev: NotReserved<Ev>, ...args: EventParams<EmitEvents, Ev>): boolean {
    if (typeof ev === 'string' && RESERVED_EVENTS.has(ev)) throw new Error(`"${ev}" is a reserved event name`);
    const data: unknown[] = [ev, ...(args as unknown[])];
    const packet: Packet = { type: PacketType.EVENT, nsp: '', data };
    const opts = { rooms: new Set(this.rooms), except: new Set(this.exceptRooms), flags: this.flags };
    const last = data[data.length - 1];
    if (typeof last !== 'function') {
      // the recovery offset is added when each node encodes the packet (once for all its recipients):
      // see TrackingEncoder.withOffsets
      (this.adapter.nsp.server as OriginHost).sharedSessions?.originate(packet, opts);
      this.adapter.broadcast(packet, opts);
      return true;
    }
    data.pop();
    this.emitWithAckCallback(packet, opts, last as (...a: unknown[]) => void);
    return true;
  }

  private emitWithAckCallback(packet: Packet, opts: { rooms: Set<Room>; except: Set<Room>; flags: BroadcastFlags }, ack: (...a: unknown[]) => unknown): void {
    const { timeout, expectSingleResponse } = this.flags;
    const log = this.adapter.nsp.server.log;
    // the app's callback runs from a timer or another socket's ACK: a fault there must stay there
    const report = (...args: unknown[]): void => {
      if (log) callApp(log, undefined, ack, args, 'broadcast ack callback');
      else ack(...args);
    };
    const responses: unknown[] = [];
    const answered = new Set<string>();
    const targeted: string[] = [];
    let timedOut = false;
    let expectedServers = -1;
    let reportedServers = 0;
    let expectedClients = 0;
    this.adapter.apply(opts, (socket) => targeted.push(socket.id));
    const timer =
      timeout === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            const err = new Error('operation has timed out') as BroadcastTimeoutError;
            err.missing = targeted.filter((id) => !answered.has(id));
            err.responses = responses;
            // a RemoteSocket's emit (one target): the answer itself, as socket.io gives it
            report(err, expectSingleResponse ? null : responses);
          }, timeout);
    const complete = (): void => {
      if (timedOut || expectedServers !== reportedServers || responses.length !== expectedClients) return;
      clearTimeout(timer);
      const result = expectSingleResponse ? responses[0] : responses;
      if (timeout === undefined) report(result);
      else report(null, result);
    };
    this.adapter.broadcastWithAck(
      packet,
      opts,
      (clientCount) => {
        expectedClients += clientCount;
        reportedServers++;
        complete();
      },
      function onClientAck(this: { id?: string } | undefined, ...answer: unknown[]) {
        // the callback already had its (err, responses): a late answer must not change that array
        if (timedOut) return;
        if (this?.id) answered.add(this.id);
        responses.push(answer[0]);
        complete();
      },
    );
    this.adapter.serverCount().then(
      (count) => {
        expectedServers = count;
        complete();
      },
      () => {
        // the cluster could not be asked (Redis away): with a timeout, the timer reports who is missing
        // rather than a success with this node's answers only; without one, this node's answers are all
        if (timeout !== undefined) return;
        expectedServers = 1;
        complete();
      },
    );
  }

  /**
   * Emits and resolves with every client's answer (rejects on timeout). A typed map needs timeout()
   * first: without it a client that never answers would leave the promise pending for good.
   */
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: EventWithTimeout<EmitEvents, Ev>,
    ...args: EmitWithAckArgs<EmitEvents, Ev>
  ): Promise<EmitWithAckResult<EmitEvents, Ev>> {
    return new Promise((resolve, reject) => {
      const callback = (...result: unknown[]): void => {
        if (this.flags.timeout === undefined) {
          resolve(result[0] as EmitWithAckResult<EmitEvents, Ev>);
          return;
        }
        if (result[0]) reject(result[0]);
        else resolve(result[1] as EmitWithAckResult<EmitEvents, Ev>);
      };
      (this.emit as (ev: unknown, ...a: unknown[]) => boolean)(ev, ...(args as unknown[]), callback);
    });
  }

  /** The selected sockets: local ones as they are, remote ones (cluster adapters) as RemoteSocket. */
  async fetchSockets(): Promise<Array<RemoteSocket<EmitEvents, SocketData>>> {
    const ms = requestTimeout(this.adapter, this.flags);
    const sockets = await bounded(
      this.adapter.fetchSockets({ rooms: new Set(this.rooms), except: new Set(this.exceptRooms), flags: this.flags }),
      ms,
      `timeout reached while waiting for fetchSockets response (${ms} ms)`,
    );
    return sockets.map((socket) =>
      (socket as unknown as LocalSocketLike).server
        ? (socket as unknown as RemoteSocket<EmitEvents, SocketData>)
        : new RemoteSocket<EmitEvents, SocketData>(this.adapter, socket as unknown as SocketDetails<SocketData>),
    );
  }

  socketsJoin(room: Room | readonly Room[]): void {
    this.adapter.addSockets({ rooms: new Set(this.rooms), except: new Set(this.exceptRooms), flags: this.flags }, Array.isArray(room) ? [...room] : [room as Room]);
  }

  socketsLeave(room: Room | readonly Room[]): void {
    this.adapter.delSockets({ rooms: new Set(this.rooms), except: new Set(this.exceptRooms), flags: this.flags }, Array.isArray(room) ? [...room] : [room as Room]);
  }

  disconnectSockets(close = false): void {
    this.adapter.disconnectSockets({ rooms: new Set(this.rooms), except: new Set(this.exceptRooms), flags: this.flags }, close);
  }
}
