// A socket held by another node of the cluster, as fetchSockets() returns it with a cluster adapter.
import type { Adapter, Room } from '../adapter/adapter';
import { BroadcastOperator } from './broadcast';
import type { DecorateAcknowledgements, DefaultEventsMap, EventNames, EventParams, EventsMap, EventWithoutAck } from './events';
import type { Handshake } from './handshake';

/** What a cluster adapter tells about a remote socket. */
export interface SocketDetails<SocketData> {
  id: string;
  handshake: Handshake;
  rooms: Room[];
  data: SocketData;
}

/**
 * Emits, joins, leaves and disconnects through the adapter, wherever the socket lives: a broadcast to
 * the room named by its id, as socket.io's RemoteSocket.
 */
export class RemoteSocket<EmitEvents extends EventsMap = DefaultEventsMap, SocketData = unknown> {
  readonly id: string;
  readonly handshake: Handshake;
  readonly rooms: Set<Room>;
  readonly data: SocketData;
  /** Untyped: the typed surface is emit() and timeout() (a typed field would make RemoteSocket invariant). */
  private readonly operator: BroadcastOperator<EventsMap, SocketData>;

  constructor(adapter: Adapter, details: SocketDetails<SocketData>) {
    this.id = details.id;
    this.handshake = details.handshake;
    this.rooms = new Set(details.rooms);
    this.data = details.data;
    // one target: an ack gets that client's answer itself, not a list of one
    this.operator = new BroadcastOperator(adapter, new Set([this.id]), new Set(), { expectSingleResponse: true });
  }

  /** Events without an ack; for an answer, `timeout(ms).emit(ev, ...args, (err, answer) => …)`. */
  emit<Ev extends EventNames<EmitEvents>>(
    ev: EventWithoutAck<EmitEvents, Ev, 'a RemoteSocket waits for an ack only after timeout()'>,
    ...args: EventParams<EmitEvents, Ev>
  ): boolean {
    return (this.operator.emit as (ev: unknown, ...a: unknown[]) => boolean)(ev, ...(args as unknown[]));
  }

  /** The next emit's ack gets (err, answer): the client's answer, or an error after `ms`. */
  timeout(ms: number): BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData> {
    return this.operator.timeout(ms) as unknown as BroadcastOperator<DecorateAcknowledgements<EmitEvents>, SocketData>;
  }

  join(room: Room | Room[]): void {
    this.operator.socketsJoin(room);
  }

  leave(room: Room): void {
    this.operator.socketsLeave(room);
  }

  disconnect(close = false): this {
    this.operator.disconnectSockets(close);
    return this;
  }
}
