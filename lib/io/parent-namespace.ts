// Dynamic namespaces: io.of(/regexp/ or function) creates children on demand, sharing middleware and listeners.
import { Adapter, type AdapterSocket, type BroadcastOptions } from '../adapter/adapter';
import type { Packet } from '../codec/types';
import type { EventsMap, DefaultEventsMap } from './events';
import { Namespace, type NamespaceHost } from './namespace';

/** Decides whether `name` is a namespace of this parent: `next(err, allowed)`. */
export type NamespaceMatcher = (
  name: string,
  auth: Record<string, unknown>,
  next: (err: Error | null, allowed: boolean) => void,
) => void;

/* eslint-disable @typescript-eslint/no-explicit-any -- socket.io's defaults for the four generics */
export class ParentNamespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  /* eslint-enable @typescript-eslint/no-explicit-any */
  private static count = 0;
  readonly children = new Set<Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  readonly matcher: NamespaceMatcher;

  constructor(server: NamespaceHost, matcher: NamespaceMatcher) {
    super(server, `/_${ParentNamespace.count++}`);
    this.matcher = matcher;
  }

  /**
   * Broadcasts of every kind (emit, to / except, timeout with acks, fetchSockets, socketsJoin,
   * disconnectSockets…) reach the children through this adapter, as socket.io's ParentBroadcastAdapter.
   */
  protected override initAdapter(): Adapter {
    return new ChildrenAdapter(this as unknown as ParentNamespace);
  }

  /** A child for `name`, with the parent's middlewares and its connect/connection listeners. */
  createChild(name: string): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    const child = new Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(this.server, name);
    child._fns = [...this._fns];
    for (const ev of ['connect', 'connection', 'message', 'disconnect'] as const) {
      for (const listener of this.listeners(ev)) child.on(ev, listener as never);
    }
    this.children.add(child);
    return child;
  }
}

/** Turns io.of()'s RegExp or function argument into a matcher. */
export function toMatcher(nameOrFn: RegExp | NamespaceMatcher): NamespaceMatcher {
  if (typeof nameOrFn === 'function') return nameOrFn;
  return (name, _auth, next) => next(null, nameOrFn.test(name));
}

/**
 * A parent's adapter: it has no sockets of its own and hands every operation to the children's
 * adapters, each of which encodes with its own namespace name and ack ids.
 */
class ChildrenAdapter extends Adapter {
  private readonly parent: ParentNamespace;

  constructor(parent: ParentNamespace) {
    super(parent as never);
    this.parent = parent;
  }

  override broadcast(packet: Packet, opts: BroadcastOptions): void {
    // each child stamps its own recovery offset onto the data it encodes: one copy each
    for (const child of this.parent.children) child.adapter.broadcast(copyPacket(packet), opts);
  }

  override broadcastWithAck(
    packet: Packet,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: unknown[]) => void,
  ): void {
    // every child reports its clients once per server: serverCount() below counts those reports
    for (const child of this.parent.children) child.adapter.broadcastWithAck(copyPacket(packet), opts, clientCountCallback, ack);
  }

  /** How many clientCountCallback reports a broadcastWithAck makes: one per child and server. */
  override async serverCount(): Promise<number> {
    let count = 0;
    for (const child of this.parent.children) count += await child.adapter.serverCount();
    return count;
  }

  override apply(opts: BroadcastOptions, callback: (socket: AdapterSocket) => void): void {
    for (const child of this.parent.children) child.adapter.apply(opts, callback);
  }
}

function copyPacket(packet: Packet): Packet {
  return { ...packet, data: Array.isArray(packet.data) ? [...(packet.data as unknown[])] : packet.data };
}
