// A socket held by another node of the cluster, as fetchSockets() returns it with a cluster adapter.
import type { Adapter, Room } from '../adapter/adapter';
import type { DefaultEventsMap, EventNames, EventParams, EventsMap, EventWithoutAck } from './events';
import type { Handshake } from './handshake';

/** What a cluster adapter tells about a remote socket. */
export interface SocketDetails<SocketData> {
  id: string;
  handshake: Handshake;
  rooms: Room[];
  data: SocketData;
}

/** Emits, joins, leaves and disconnects through the adapter, wherever the socket lives. */
export class RemoteSocket<EmitEvents extends EventsMap = DefaultEventsMap, SocketData = unknown> {
  readonly id: string;
  readonly handshake: Handshake;
  readonly rooms: Set<Room>;
  readonly data: SocketData;
  private readonly adapter: Adapter;

  constructor(adapter: Adapter, details: SocketDetails<SocketData>) {
    this.adapter = adapter;
    this.id = details.id;
    this.handshake = details.handshake;
    this.rooms = new Set(details.rooms);
    this.data = details.data;
  }

  private get only(): { rooms: Set<Room>; except: Set<Room> } {
    return { rooms: new Set([this.id]), except: new Set() };
  }

  /** Events without an ack only: a socket on another node has no way to answer through the adapter. */
  emit<Ev extends EventNames<EmitEvents>>(
    ev: EventWithoutAck<EmitEvents, Ev, 'a RemoteSocket cannot wait for an ack'>,
    ...args: EventParams<EmitEvents, Ev>
  ): boolean {
    this.adapter.broadcast({ type: 2, nsp: '', data: [ev, ...args] }, this.only);
    return true;
  }

  join(room: Room | Room[]): void {
    this.adapter.addSockets(this.only, Array.isArray(room) ? room : [room]);
  }

  leave(room: Room): void {
    this.adapter.delSockets(this.only, [room]);
  }

  disconnect(close = false): this {
    this.adapter.disconnectSockets(this.only, close);
    return this;
  }
}

