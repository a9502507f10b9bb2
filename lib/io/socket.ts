// One client in one namespace: on / emit / acks / join / leave, packet middleware, disconnect reasons.
import type { IncomingMessage } from 'node:http';
import { PacketType, RESERVED_EVENTS, type Packet } from '../codec/types';
import type { Adapter, BroadcastFlags, Room } from '../adapter/adapter';
import type { EngineSocket } from '../engine/session';
import { LazyChildLogger, type Logger } from '../logger';
import { generateId } from '../util/ids';
import { AckMap, type AckFn } from './acks';
import { BroadcastOperator } from './broadcast';
import { CatchAllEmitter } from './catch-all';
import type { Client } from './client';
import { Delivery, type DeliveryOwner } from './delivery';
import type {
  AckEvent,
  DecorateAcknowledgements,
  DecorateAcknowledgementsWithMultipleResponses,
  DefaultEventsMap,
  EmitWithAckArgs,
  EmitWithAckResult,
  EventNames,
  EventParams,
  EventsMap,
  NotReserved,
  ReservedOrUserListener,
} from './events';
import { buildHandshake, type Handshake } from './handshake';
import { ackCallback, argumentsOf, emitEvent, type AckCallback } from './inbound';
import { runMiddlewares, type Next } from './middleware';
import type { Namespace } from './namespace';

/** Reasons a socket leaves its namespace, with socket.io's strings. */
export type DisconnectReason =
  | 'transport error'
  | 'transport close'
  | 'forced close'
  | 'ping timeout'
  | 'parse error'
  | 'server shutting down'
  | 'forced server close'
  | 'client namespace disconnect'
  | 'server namespace disconnect'
  | (string & {});

/** Events the server side of a socket emits on its own. */
export interface SocketReservedEvents {
  disconnect: (reason: DisconnectReason, description?: unknown) => void;
  disconnecting: (reason: DisconnectReason, description?: unknown) => void;
  error: (err: Error) => void;
}

type PacketMiddleware = (event: unknown[], next: Next) => unknown;

const NO_FLAGS: BroadcastFlags = Object.freeze({});

/** Events the server side of a socket emits locally (recovery and the send queue); not accepted from clients. */
const SERVER_EVENTS: ReadonlySet<string> = new Set(['interrupted', 'resumed', 'drain', 'error']);

/**
 * A client's connection to one namespace. `conn` is the same object as the classic API's
 * connection: `io.on('connect', (conn) => conn.send(...))` hands you one of these.
 */
export class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any, // eslint-disable-line @typescript-eslint/no-explicit-any -- socket.io's default
> extends CatchAllEmitter {
  readonly id: string;
  readonly nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /** The socket's way out: its current connection, send queue and replay log (socket.io's `client`). */
  readonly client: Delivery;
  /** Private session id the client presents to recover (undefined when recovery is off). */
  pid: string | undefined;
  /** True once the session came back after a lost transport. */
  recovered = false;
  private shake: Handshake | undefined = undefined; // socket.handshake, built on first use from these two:
  private readonly auth: Record<string, unknown>;
  private readonly issued = Date.now();
  /** Free storage for the app, kept across the session (and shared with fetchSockets()). */
  data: SocketData = {} as SocketData;
  connected = false;
  /** Pending acknowledgement callbacks by packet id (adapters set these for broadcasts with acks). */
  readonly acks = new AckMap();
  private flags: BroadcastFlags = NO_FLAGS;
  /** Set once the socket has left (or was refused): joins are dropped, onClose runs once. */
  private left = false;
  private fns: PacketMiddleware[] | undefined = undefined; // made by the first use()
  readonly log: Logger;

  constructor(nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, client: Client, auth: Record<string, unknown>) {
    super({ captureRejections: true });
    this.nsp = nsp;
    this.client = new Delivery(this as unknown as DeliveryOwner, client, nsp.server.delivery, nsp.server.recovery.enabled);
    this.id = generateId();
    this.auth = auth;
    this.log = new LazyChildLogger(client.conn.log, { nsp: nsp.name, socketId: this.id });
  }

  /** What the client's handshake told the server (headers, query, auth…). */
  get handshake(): Handshake {
    return (this.shake ??= buildHandshake(this.request, this.conn.remoteAddress, this.auth, this.issued));
  }

  get server(): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>['server'] {
    return this.nsp.server;
  }

  get adapter(): Adapter {
    return this.nsp.adapter;
  }

  /** The Engine.IO connection under this socket. */
  get conn(): EngineSocket {
    return this.client.conn;
  }

  /** The handshake request, with whatever the app's middleware put on it (req.session, req.user…). */
  get request(): IncomingMessage {
    return this.client.request;
  }

  /** Rooms the socket is in (its own id among them). */
  get rooms(): Set<Room> {
    return this.adapter.socketRooms(this.id) ?? new Set();
  }

  get disconnected(): boolean {
    return !this.connected;
  }

  // --- listening ---

  override on<Ev extends EventNames<ListenEvents> | EventNames<SocketReservedEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<SocketReservedEvents, ListenEvents, Ev>,
  ): this {
    return super.on(ev, listener as (...args: unknown[]) => void);
  }

  override once<Ev extends EventNames<ListenEvents> | EventNames<SocketReservedEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<SocketReservedEvents, ListenEvents, Ev>,
  ): this {
    return super.once(ev, listener as (...args: unknown[]) => void);
  }

  // --- emitting ---

  /** Sends an event to this client; a trailing function is called with the client's answer. */
  override emit<Ev extends EventNames<EmitEvents>>(ev: NotReserved<Ev>, ...args: EventParams<EmitEvents, Ev>): boolean {
    if (typeof ev === 'string' && RESERVED_EVENTS.has(ev)) throw new Error(`"${ev}" is a reserved event name`);
    const data: unknown[] = [ev, ...(args as unknown[])];
    const packet: Packet = { type: PacketType.EVENT, nsp: this.nsp.name, data };
    const flags = this.flags;
    this.flags = NO_FLAGS;
    const last = data[data.length - 1];
    if (typeof last === 'function') {
      data.pop();
      const id = this.nsp._ids++;
      this.acks.register(id, last as AckFn, flags.timeout, this);
      packet.id = id;
    } else {
      // the client records the last argument of each event as its recovery position (PROTOCOL.md §3)
      const offset = this.nsp.nextOffset();
      if (offset !== undefined) data.push(offset);
    }
    this.notifyOutgoingListeners(packet);
    // false: refused (queue full, or the session has ended); 'drain' tells when there is room again
    return this.client.sendPacket(packet, flags);
  }

  /** Like emit(), but a refusal throws: SocketIOError ERR_QUEUE_FULL, or ERR_DESTROYED once the session ended. */
  enqueue<Ev extends EventNames<EmitEvents>>(ev: NotReserved<Ev>, ...args: EventParams<EmitEvents, Ev>): void {
    if (!(this.emit as (ev: unknown, ...a: unknown[]) => boolean)(ev, ...(args as unknown[]))) throw Delivery.errorFor(this.client.ended);
  }

  /** Resolves once everything queued so far was handed to the transport (rejects if the session ends first). */
  flushed(): Promise<void> {
    return this.client.flushed();
  }

  /** True while the transport is lost and the session waits for its client (emits are queued). */
  get interrupted(): boolean {
    return this.connected && this.client.current === undefined;
  }

  /** Emits and resolves with the client's answer (rejects on timeout when timeout() was set). */
  emitWithAck<Ev extends EventNames<EmitEvents>>(ev: AckEvent<EmitEvents, Ev>, ...args: EmitWithAckArgs<EmitEvents, Ev>): Promise<EmitWithAckResult<EmitEvents, Ev>> {
    const withTimeout = this.flags.timeout !== undefined;
    return new Promise((resolve, reject) => {
      const callback = withTimeout
        ? (err: Error | null, value: EmitWithAckResult<EmitEvents, Ev>) => (err ? reject(err) : resolve(value))
        : (value: EmitWithAckResult<EmitEvents, Ev>) => resolve(value);
      (this.emit as (ev: unknown, ...a: unknown[]) => boolean)(ev, ...(args as unknown[]), callback);
    });
  }

  /** Sends a `message` event (the classic API's send). */
  send(...args: unknown[]): this {
    (this.emit as (ev: string, ...a: unknown[]) => boolean)('message', ...args);
    return this;
  }

  /** Alias of send(). */
  write(...args: unknown[]): this {
    return this.send(...args);
  }

  /** The next emit's ack callback gets (err, ...answer) and is called after `ms` at the latest. */
  timeout(ms: number): Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>, ServerSideEvents, SocketData> {
    this.flags = { ...this.flags, timeout: ms };
    return this as unknown as Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>, ServerSideEvents, SocketData>;
  }

  /** The next emit is dropped if the client cannot take it right now. */
  get volatile(): this {
    this.flags = { ...this.flags, volatile: true };
    return this;
  }

  compress(compress: boolean): this {
    this.flags = { ...this.flags, compress };
    return this;
  }

  /** Every other socket of the namespace. */
  get broadcast(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.operator();
  }

  get local(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    return this.operator().local;
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

  private operator(): BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, SocketData> {
    const flags = this.flags;
    this.flags = NO_FLAGS;
    return new BroadcastOperator(this.adapter, new Set(), new Set([this.id]), flags);
  }

  // --- rooms ---

  join(rooms: Room | Room[]): Promise<void> | void {
    // a join after the socket left (async app code) would leave a room entry nothing ever removes
    if (this.left) return;
    return this.adapter.addAll(this.id, new Set(Array.isArray(rooms) ? rooms : [rooms]));
  }

  leave(room: Room): Promise<void> | void {
    return this.adapter.del(this.id, room);
  }

  // --- middleware and catch-all listeners ---

  /** Per-packet middleware: `(event, next)`, where event is `[name, ...args]`. */
  use(fn: PacketMiddleware): this {
    (this.fns ??= []).push(fn);
    return this;
  }

  // --- disconnect ---

  /** Leaves the namespace; with `close`, ends the whole connection. */
  disconnect(close = false): this {
    if (!this.connected) return this;
    // while interrupted there is no connection to close: the session ends as a namespace disconnect
    if (close && this.client.current) {
      this.client.disconnectAll();
      return this;
    }
    // already leaving (called from a disconnecting listener): nothing more to tell the client
    if (this.left) return this;
    this.client.sendControl({ type: PacketType.DISCONNECT, nsp: this.nsp.name });
    this.onClose('server namespace disconnect');
    return this;
  }

  // --- called by the namespace and the client ---

  /** @internal the namespace accepted the socket */
  onConnect(): void {
    this.connected = true;
    void this.join(this.id);
    const recovery = this.nsp.server.recovery;
    if (recovery.enabled) this.pid = generateId();
    this.sendConnectReply();
    recovery.register(this);
  }

  private sendConnectReply(): void {
    this.client.sendControl({ type: PacketType.CONNECT, nsp: this.nsp.name, data: this.pid ? { sid: this.id, pid: this.pid } : { sid: this.id } });
  }

  /** @internal the transport is gone: wait for the client (recovery) or leave */
  onTransportLost(reason: DisconnectReason, description?: unknown): void {
    if (!this.nsp.server.recovery.suspend(this, reason)) this.onClose(reason, description);
  }

  /** @internal recovery kept the session: its transport is gone for now */
  onSuspend(reason: string): void {
    void this.handshake; // the first connection's, as before the drop: built before another takes over
    this.emitOwn('interrupted', reason);
  }

  /** @internal recovery brought the session back on `client` (missed packets already resent) */
  onResume(client: Client): void {
    this.recovered = true;
    client.connectDone(this.nsp.name, this as unknown as Socket);
    this.sendConnectReply();
    this.emitOwn('resumed');
  }

  /** @internal the client stopped reading: its connection ends, and with it the session */
  onSlowConsumer(fields: Record<string, unknown>): void {
    const current = this.client.current;
    if (current) {
      current.conn.refuse('ERR_SLOW_CONSUMER', 'slow consumer', fields);
      return;
    }
    this.log.warn({ code: 'ERR_SLOW_CONSUMER', ...fields }, 'closing session: slow consumer');
    this.onClose('slow consumer', 'ERR_SLOW_CONSUMER');
  }

  /** @internal room again after a refused send */
  onDrain(): void {
    this.emitOwn('drain');
  }

  /** @internal the socket will never connect: rooms a middleware joined belong to nobody */
  discard(): void {
    this.left = true;
    this.adapter.delAll(this.id);
  }

  /** @internal a middleware refused the CONNECT */
  refuseConnect(err: Error & { data?: unknown }): void {
    this.discard();
    const data: Record<string, unknown> = { message: err.message };
    if (err.data !== undefined) data.data = err.data;
    this.client.sendControl({ type: PacketType.CONNECT_ERROR, nsp: this.nsp.name, data });
  }

  /** @internal a decoded packet for this namespace */
  onPacket(packet: Packet): void {
    switch (packet.type) {
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT:
        this.onEvent(packet);
        break;
      case PacketType.ACK:
      case PacketType.BINARY_ACK:
        this.acks.answer(packet.id as number, packet.data as unknown[], this);
        break;
      case PacketType.DISCONNECT:
        this.onClose('client namespace disconnect');
        break;
      default:
        break;
    }
  }

  private onEvent(packet: Packet): void {
    const args = packet.data as unknown[];
    if (SERVER_EVENTS.has(args[0] as string)) {
      // the server side emits these itself; a client must not fake them
      this.log.warn({ code: 'ERR_BAD_PACKET', event: args[0] }, 'event name reserved for the server side dropped');
      return;
    }
    const ack = packet.id === undefined ? undefined : ackCallback(this, packet.id);
    if (this.fns === undefined && !this.hasAnyListeners) {
      // no onAny listener or middleware sees the array: the ack goes to the handlers as one more argument
      this.dispatch(args, ack);
      return;
    }
    if (ack !== undefined) args.push(ack);
    this.notifyIncomingListeners(args);
    if (this.fns === undefined) {
      this.dispatch(args, undefined);
      return;
    }
    runMiddlewares(this.fns, [args], (err) => {
      if (err) {
        this.onMiddlewareError(err);
        return;
      }
      if (this.connected) this.dispatch(args, undefined);
    });
  }

  /** Emits `[name, ...args]` (and `ack`, when it is not in the array) to the event's handlers. */
  private dispatch(args: unknown[], ack: AckCallback | undefined): void {
    // no closure per packet: the emit runs in this frame (async listeners: captureRejections)
    try {
      emitEvent(this, args, ack);
    } catch (err) {
      this.log.error({ err, event: args[0] }, 'event handler threw');
    }
    if (args[0] === 'message') this.nsp.emitClassicMessage(this, argumentsOf(args, ack));
  }

  private onMiddlewareError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emitOwn('error', err);
    else this.log.warn({ err: err.message }, 'packet refused by socket.use() middleware, and no "error" listener');
  }

  /** Emits one of the socket's own events; a throwing listener is logged and confined to this socket. */
  private emitOwn(ev: string, ...args: unknown[]): void {
    try {
      super.emit(ev, ...args);
    } catch (err) {
      this.log.error({ err, event: ev }, 'socket listener threw');
    }
  }

  /** Async listeners that reject (captureRejections) are logged, like throwing ones. */
  [Symbol.for('nodejs.rejection')](err: unknown, event: string): void {
    this.log.error({ err, event }, 'async handler rejected');
  }

  /** @internal leaves the namespace with `reason`; runs once */
  onClose(reason: DisconnectReason, description?: unknown): void {
    // `left` as well as `connected`: a disconnecting listener that disconnects again must not re-enter
    if (!this.connected || this.left) return;
    this.left = true;
    this.emitOwn('disconnecting', reason, description);
    this.acks.failAll(this);
    this.adapter.delAll(this.id);
    this.nsp.removeSocket(this);
    this.client.removeSocket(this);
    this.nsp.server.recovery.forget(this);
    this.client.end();
    this.connected = false;
    this.emitOwn('disconnect', reason, description);
    this.nsp.emitClassicDisconnect(this, reason);
  }
}
