// A namespace: connect middleware, its sockets, emits through the adapter, and the classic events.
import { EventEmitter } from 'node:events';
import type { Adapter, Room } from '../adapter/adapter';
import type { Logger } from '../logger';
import { BroadcastOperator } from './broadcast';
import { boundedCallback, requestTimeout } from './cluster-request';
import type { Client } from './client';
import type {
  AckEvent,
  DecorateAcknowledgementsWithBroadcastTimeout,
  DecorateAcknowledgementsWithMultipleResponses,
  DecorateAcknowledgementsWithTimeoutAndMultipleResponses,
  DefaultEventsMap,
  EmitWithAckArgs,
  EmitWithAckResult,
  EventNames,
  EventParams,
  EventsMap,
  EventWithoutAck,
  EventWithTimeout,
  NotReserved,
  ServerSideReservedEventName,
} from './events';
import { runMiddlewares } from './middleware';
import type { RemoteSocket } from './remote-socket';
import { Socket, type DisconnectReason } from './socket';
import type { DeliveryHost } from './delivery';
import type { Offsets } from './offsets';
import type { Recovery } from './recovery';

/** What a namespace needs of its server. */
export interface NamespaceHost {
  readonly encoder: import('../codec/types').Encoder;
  readonly log: Logger;
  readonly delivery: DeliveryHost;
  readonly recovery: Recovery;
  readonly offsets: Offsets;
  createAdapter(nsp: Namespace): Adapter;
}

/** Events a namespace emits on its own (plus the classic API's message / disconnect). */
export interface NamespaceReservedEvents<L extends EventsMap, E extends EventsMap, S extends EventsMap, D> {
  connect: (socket: Socket<L, E, S, D>) => void;
  connection: (socket: Socket<L, E, S, D>) => void;
  /** Classic API: a client called `socket.send(...)`. */
  message: (socket: Socket<L, E, S, D>, ...args: unknown[]) => void;
  /** Classic API: a socket left for good. */
  disconnect: (socket: Socket<L, E, S, D>, reason: DisconnectReason) => void;
  new_namespace: (nsp: Namespace<L, E, S, D>) => void;
}

export type ConnectMiddleware<L extends EventsMap, E extends EventsMap, S extends EventsMap, D> = (
  socket: Socket<L, E, S, D>,
  next: (err?: Error & { data?: unknown }) => void,
) => unknown;

/* eslint-disable @typescript-eslint/no-explicit-any -- socket.io's defaults for the four generics */
export class Namespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends EventEmitter {
  /* eslint-enable @typescript-eslint/no-explicit-any */
  readonly name: string;
  readonly server: NamespaceHost;
  readonly sockets = new Map<string, Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  adapter: Adapter;
  /** Ack-id counter shared by the namespace's emits and broadcasts. */
  _ids = 0;
  /** Connection middlewares, in order. */
  _fns: Array<ConnectMiddleware<ListenEvents, EmitEvents, ServerSideEvents, SocketData>> = [];

  constructor(server: NamespaceHost, name: string) {
    // async 'connection' / classic listeners that reject are logged, not left to crash the process
    super({ captureRejections: true });
    this.server = server;
    this.name = name;
    this.adapter = this.initAdapter();
    void this.adapter.init();
  }

  /** The namespace's adapter (a parent namespace has its own kind, see ParentNamespace). */
  protected initAdapter(): Adapter {
    return this.server.createAdapter(this as unknown as Namespace);
  }

  /** Async listeners that reject (captureRejections) are logged, like throwing ones. */
  [Symbol.for('nodejs.rejection')](err: unknown, event: string): void {
    this.server.log.error({ err, nsp: this.name, event }, 'namespace listener rejected');
  }

  override on<Ev extends keyof NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | EventNames<ServerSideEvents>>(
    ev: Ev,
    listener: Ev extends keyof NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
      ? NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>[Ev]
      : ServerSideEvents[Ev & keyof ServerSideEvents],
  ): this {
    return super.on(ev as string, listener as (...args: unknown[]) => void);
  }

  override once<Ev extends keyof NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | EventNames<ServerSideEvents>>(
    ev: Ev,
    listener: Ev extends keyof NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
      ? NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>[Ev]
      : ServerSideEvents[Ev & keyof ServerSideEvents],
  ): this {
    return super.once(ev as string, listener as (...args: unknown[]) => void);
  }

  /** Emits one of the namespace's own events to local listeners; a throwing listener is logged. */
  emitReserved(ev: string, ...args: unknown[]): void {
    this.emitGuarded(ev, ...args);
  }

  /** Connection middleware: `(socket, next)`; `next(err)` refuses with CONNECT_ERROR (message, data). */
  use(fn: ConnectMiddleware<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): this {
    this._fns.push(fn);
    return this;
  }

  // --- broadcasting ---

  private operator(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return new BroadcastOperator(this.adapter);
  }

  to(room: Room | readonly Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.operator().to(room);
  }

  in(room: Room | readonly Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.operator().to(room);
  }

  except(room: Room | readonly Room[]): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.operator().except(room);
  }

  /** Emits to every socket of the namespace; events with an ack go through timeout(ms).emit(). */
  override emit<Ev extends EventNames<EmitEvents>>(ev: EventWithoutAck<EmitEvents, Ev>, ...args: EventParams<EmitEvents, Ev>): boolean {
    return (this.operator() as BroadcastOperator<EventsMap>).emit(ev as string, ...(args as unknown[]));
  }

  /** Every client's answer; a typed map goes through timeout(ms).emitWithAck(), as socket.io requires. */
  emitWithAck<Ev extends EventNames<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>>>(
    ev: EventWithTimeout<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>,
    ...args: EmitWithAckArgs<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>
  ): Promise<EmitWithAckResult<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>> {
    return this.operator().emitWithAck(ev, ...args);
  }

  send(...args: unknown[]): this {
    (this.operator() as BroadcastOperator<EventsMap>).emit('message', ...args);
    return this;
  }

  write(...args: unknown[]): this {
    return this.send(...args);
  }

  timeout(ms: number): BroadcastOperator<DecorateAcknowledgementsWithBroadcastTimeout<EmitEvents>, SocketData> {
    return this.operator().timeout(ms);
  }

  get volatile(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.operator().volatile;
  }

  get local(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.operator().local;
  }

  compress(compress: boolean): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.operator().compress(compress);
  }

  fetchSockets(): Promise<Array<RemoteSocket<EmitEvents, SocketData>>> {
    // the namespace's own map, not the broadcast's (whose acks collect a list): a remote socket is one client
    return (new BroadcastOperator(this.adapter) as BroadcastOperator<EmitEvents, SocketData>).fetchSockets();
  }

  socketsJoin(room: Room | readonly Room[]): void {
    this.operator().socketsJoin(room);
  }

  socketsLeave(room: Room | readonly Room[]): void {
    this.operator().socketsLeave(room);
  }

  disconnectSockets(close = false): void {
    this.operator().disconnectSockets(close);
  }

  /** Ids of all sockets (socket.io's deprecated allSockets, kept for old apps). */
  allSockets(): Promise<Set<string>> {
    return this.adapter.sockets(new Set());
  }

  /** Emits to the other servers of the cluster; a trailing function collects their answers. */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(
    ev: NotReserved<Ev, ServerSideReservedEventName>,
    ...args: EventParams<DecorateAcknowledgementsWithTimeoutAndMultipleResponses<ServerSideEvents>, Ev>
  ): boolean {
    if (typeof ev === 'string' && ['connect', 'connection', 'new_namespace'].includes(ev)) {
      throw new Error(`"${ev}" is a reserved event name`);
    }
    const packet: unknown[] = [ev, ...(args as unknown[])];
    const last = packet[packet.length - 1];
    if (typeof last !== 'function') {
      this.settleAdapterCall(this.adapter.serverSideEmit(packet), undefined);
      return true;
    }
    // the answers must come within the adapter's timeout even when it cannot ask Redis how many to expect
    const ms = requestTimeout(this.adapter);
    const guard = boundedCallback(last as (err: Error | null, responses: unknown[]) => void, ms, `timeout reached: no answer from the cluster within ${ms} ms`);
    packet[packet.length - 1] = guard.callback;
    this.settleAdapterCall(this.adapter.serverSideEmit(packet), guard.fail);
    return true;
  }

  /** Resolves with one answer per other server of the cluster. */
  serverSideEmitWithAck<Ev extends EventNames<ServerSideEvents>>(
    ev: AckEvent<ServerSideEvents, Ev>,
    ...args: EmitWithAckArgs<ServerSideEvents, Ev>
  ): Promise<Array<EmitWithAckResult<ServerSideEvents, Ev>>>;
  serverSideEmitWithAck<Ev extends EventNames<ServerSideEvents>>(ev: Ev, ...args: unknown[]): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      const callback = (err: Error | null, responses: unknown[]): void => (err ? reject(err) : resolve(responses));
      (this.serverSideEmit as (ev: unknown, ...a: unknown[]) => boolean)(ev, ...args, callback);
    });
  }

  /** An adapter's async method that rejects (cluster adapters whose Redis is away): reported, never unhandled. */
  private settleAdapterCall(result: unknown, fail: ((err: unknown) => void) | undefined): void {
    if (!(result instanceof Promise)) return;
    result.catch((err: unknown) => {
      if (fail) fail(err);
      else this.server.log.warn({ err, nsp: this.name }, 'serverSideEmit failed in the adapter');
    });
  }

  /** Called by cluster adapters with an event another server sent. */
  _onServerSideEmit(args: unknown[]): void {
    this.emitGuarded(...(args as [string, ...unknown[]]));
  }

  // --- connecting ---

  /** @internal runs the connect middlewares for a new socket, then accepts or refuses it */
  addSocket(client: Client, auth: Record<string, unknown>): void {
    // a client that held a session asks for it back: same id, rooms, data and what it missed
    if (this.server.recovery.resume(client, this.name, auth)) return;
    if ('pid' in auth || 'offset' in auth) {
      const { pid: _pid, offset: _offset, ...rest } = auth;
      auth = rest;
    }
    const socket = new Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(this, client, auth);
    // no connect middleware (the usual case): no closure, no argument array per connection
    if (this._fns.length === 0) this.finishConnect(client, socket, undefined);
    else runMiddlewares(this._fns, [socket], (err) => this.finishConnect(client, socket, err));
  }

  private finishConnect(client: Client, socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, err: Error | undefined): void {
    if (client.conn.readyState !== 'open') {
      client.connectDone(this.name, undefined);
      socket.discard();
      return;
    }
    if (err) {
      client.connectDone(this.name, undefined);
      socket.refuseConnect(err as Error & { data?: unknown });
      return;
    }
    this.sockets.set(socket.id, socket);
    client.connectDone(this.name, socket as unknown as Socket);
    socket.onConnect();
    this.emitGuarded('connect', socket);
    this.emitGuarded('connection', socket);
  }

  /** The recovery offset for the next event sent without an ack; undefined when recovery is off. */
  nextOffset(): string | undefined {
    return this.server.recovery.enabled ? this.server.offsets.next().text : undefined;
  }

  /** Emits a namespace event; a throwing listener is logged, never thrown into the transport. */
  protected emitGuarded(ev: string, ...args: unknown[]): void {
    try {
      super.emit(ev, ...args);
    } catch (err) {
      this.server.log.error({ err, nsp: this.name, event: ev }, 'namespace listener threw');
    }
  }

  /** @internal */
  removeSocket(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): void {
    this.sockets.delete(socket.id);
  }

  /** @internal classic API: `io.on('message', (conn, data) => …)` */
  emitClassicMessage(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, args: unknown[]): void {
    if (this.listenerCount('message') > 0) this.emitGuarded('message', socket, ...args);
  }

  /** @internal classic API: `io.on('disconnect', (conn, reason) => …)` */
  emitClassicDisconnect(socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, reason: DisconnectReason): void {
    if (this.listenerCount('disconnect') > 0) this.emitGuarded('disconnect', socket, reason);
  }
}
