// The io server: namespaces, io.use, delegation to the main namespace, and the classic broadcast API.
import type { Server as HttpServer } from 'node:http';
import type { Adapter, AdapterLike, Room } from '../adapter/adapter';
import type { Codec, Decoder, Encoder } from '../codec/types';
import type { EngineSocket } from '../engine/session';
import type { EngineServer } from '../engine/server';
import type { Logger } from '../logger';
import { Client, type ClientHost } from './client';
import type { DeliveryHost, DeliveryMetrics } from './delivery';
import { Offsets } from './offsets';
import type { OutboxLimits } from './outbox';
import { Recovery } from './recovery';
import { SharedSessions } from './shared-sessions';
import { TrackingEncoder } from './tracking-encoder';
import { isShared, type SessionStore } from '../store/session-store';
import type {
  AckEvent,
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
  ReservedOrUserEventNames,
  ReservedOrUserListener,
  ServerSideReservedEventName,
} from './events';
import { Namespace, type ConnectMiddleware, type NamespaceHost, type NamespaceReservedEvents } from './namespace';
import { ParentNamespace, toMatcher, type NamespaceMatcher } from './parent-namespace';
import type { Socket } from './socket';

/**
 * An adapter class, or the factory the official adapters' createAdapter() returns (socket.io calls it
 * with `new` too): ours, or one extending socket.io-adapter's class (Redis, Redis Streams, cluster…).
 */
export type AdapterConstructor = (new (nsp: never) => AdapterLike) | ((nsp: never) => AdapterLike);

/** socket.io's `parser` option: encoder and decoder classes. */
export interface ParserOption {
  Encoder: new () => Encoder;
  Decoder: new () => Decoder;
}

export interface IoOptions {
  /** ms a client may take to join a namespace after the handshake. @default 45000 */
  connectTimeout: number;
  adapter: AdapterConstructor;
  codec: Codec;
  /** Remove dynamic child namespaces once their last socket leaves. @default false */
  cleanupEmptyChildNamespaces: boolean;
  logger: Logger;
  /** ms a session waits for its client after losing its transport; 0 turns recovery off. */
  reconnectTimeout: number;
  /** Where suspended sessions wait. */
  sessionStore: SessionStore;
  /** Bounds of each socket's send queue and replay log. */
  limits: OutboxLimits;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- socket.io's defaults for the four generics */
export class IoServer<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> implements NamespaceHost, ClientHost {
  /* eslint-enable @typescript-eslint/no-explicit-any */
  readonly engine: EngineServer;
  /**
   * The codec's encoder, wrapped to describe each encoded packet once for delivery; adapters encode
   * broadcasts with it (`nsp.server.encoder`), and with recovery on it stamps them with this node's offset.
   */
  readonly encoder: TrackingEncoder;
  /**
   * socket.io's server options as cluster adapters read them (`nsp.server.opts`). `connectionStateRecovery`
   * is left out on purpose: recovery here is per node and this server's own (see docs/recovery.md), and an
   * adapter that found it set would append offsets of its own (stream ids) to every broadcast.
   */
  readonly opts: Readonly<{ connectionStateRecovery?: undefined }> = Object.freeze({});
  /** The HTTP server given to attach(), as socket.io names it (`@socket.io/sticky`'s setupWorker reads it). */
  httpServer: HttpServer | undefined = undefined;
  readonly offsets: Offsets;
  /** Counters: recovery outcomes, queue refusals, slow-consumer closes. */
  readonly metrics: DeliveryMetrics;
  readonly delivery: DeliveryHost;
  readonly recovery: Recovery;
  /** With a shared session store (RedisSessionStore): recovery across nodes. */
  readonly sharedSessions: SharedSessions | undefined;
  readonly codec: Codec;
  readonly connectTimeout: number;
  readonly log: Logger;
  /** The main namespace, '/'. */
  readonly sockets: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  readonly _nsps = new Map<string, Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  /** Namespaces created on demand by a parent namespace. */
  private readonly dynamicChildren = new WeakSet<Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  private readonly parentNsps = new Map<NamespaceMatcher, ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  private readonly options: IoOptions;
  private readonly attachFn: (server: HttpServer) => () => void;

  constructor(engine: EngineServer, opts: IoOptions, attach: (server: HttpServer) => () => void) {
    this.engine = engine;
    this.options = opts;
    this.codec = opts.codec;
    this.offsets = new Offsets();
    this.metrics = { recovered: 0, expired: 0, unknownSession: 0, gap: 0, queueRefused: 0, slowConsumer: 0 };
    this.recovery = new Recovery({
      reconnectTimeout: opts.reconnectTimeout,
      store: opts.sessionStore,
      offsets: this.offsets,
      metrics: this.metrics,
      log: opts.logger,
    });
    const encoder = new TrackingEncoder(opts.codec.encoder, this.offsets);
    // adapters encode broadcasts with this one: each node stamps its own offset (direct emits carry theirs)
    this.encoder = this.recovery.enabled ? encoder.withOffsets() : encoder;
    const shared = this.recovery.enabled && isShared(opts.sessionStore) ? new SharedSessions({
      store: opts.sessionStore,
      offsets: this.offsets,
      codec: opts.codec,
      reconnectTimeout: opts.reconnectTimeout,
      metrics: this.metrics,
      log: opts.logger,
      namespaceOf: (name) => this._nsps.get(name) as Namespace | undefined,
    }) : undefined;
    this.sharedSessions = shared;
    if (shared) {
      shared.recovery = this.recovery;
      this.recovery.shared = shared;
      this.encoder.recorder = shared;
    }
    this.delivery = { encoder, limits: opts.limits, metrics: this.metrics, recorder: shared };
    this.connectTimeout = opts.connectTimeout;
    this.log = opts.logger;
    this.attachFn = attach;
    this.sockets = this.of('/');
    engine.on('connection', (conn: EngineSocket) => {
      new Client(this, conn);
    });
  }

  createAdapter(nsp: Namespace): Adapter {
    // `new` on a factory returning an object yields that object, as in socket.io
    const AdapterClass = this.options.adapter as new (nsp: never) => AdapterLike;
    // a foreign adapter has the methods Adapter has (AdapterLike): the io layer uses no others
    const adapter = new AdapterClass(nsp as never) as Adapter;
    // joins and leaves rewrite the session's record in a shared store
    this.sharedSessions?.watch(adapter);
    return adapter;
  }

  /** A namespace by name (created on first use), or a parent of dynamic namespaces. */
  of(
    name: string | RegExp | NamespaceMatcher,
    fn?: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    if (typeof name !== 'string') {
      const parent = new ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(this, toMatcher(name));
      this.parentNsps.set(parent.matcher, parent);
      if (fn) parent.on('connect', fn);
      return parent;
    }
    const normalized = name.startsWith('/') ? name : `/${name}`;
    let nsp = this._nsps.get(normalized);
    if (!nsp) {
      nsp = new Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(this, normalized);
      this._nsps.set(normalized, nsp);
      if (normalized !== '/') this.sockets.emitReserved('new_namespace', nsp);
    }
    if (fn) nsp.on('connect', fn);
    return nsp;
  }

  /** @internal ClientHost: find, create (dynamic) or refuse the namespace a client asks for */
  connectToNamespace(client: Client, name: string, auth: Record<string, unknown>): void {
    const existing = this._nsps.get(name);
    if (existing) {
      existing.addSocket(client, auth);
      return;
    }
    const parents = [...this.parentNsps.values()];
    const tryNext = (i: number): void => {
      if (client.conn.readyState !== 'open') return;
      if (i === parents.length) {
        // only the namespaces the app declared by name: dynamic children (per-user names…) stay private
        const declared = [...this._nsps.values()].filter((nsp) => !this.dynamicChildren.has(nsp)).map((nsp) => nsp.name);
        client.refuseNamespace(name, 'Invalid namespace', { namespaces: declared });
        return;
      }
      const parent = parents[i];
      let answered = false;
      const next = (err: Error | null, allowed: boolean): void => {
        if (answered) return;
        answered = true;
        if (err || !allowed) {
          tryNext(i + 1);
          return;
        }
        // another client may have created it while the matcher ran
        let nsp = this._nsps.get(name);
        if (!nsp) {
          nsp = parent.createChild(name);
          this.dynamicChildren.add(nsp);
          this._nsps.set(name, nsp);
          this.watchChild(parent, nsp);
          this.sockets.emitReserved('new_namespace', nsp);
        }
        nsp.addSocket(client, auth);
      };
      try {
        parent.matcher(name, auth, next);
      } catch (err) {
        this.log.error({ err }, 'namespace matcher threw');
        next(err as Error, false);
      }
    };
    tryNext(0);
  }

  private watchChild(parent: ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, child: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): void {
    if (!this.options.cleanupEmptyChildNamespaces) return;
    child.on('disconnect', () => {
      if (child.sockets.size > 0) return;
      void child.adapter.close();
      this._nsps.delete(child.name);
      parent.children.delete(child);
    });
  }

  // --- the main namespace's API, on the server (as socket.io does) ---

  use(fn: ConnectMiddleware<ListenEvents, EmitEvents, ServerSideEvents, SocketData>): this {
    this.sockets.use(fn);
    return this;
  }

  /** The main namespace's events (connection, new_namespace…) and the ServerSideEvents of other servers. */
  on<Ev extends ReservedOrUserEventNames<NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents, Ev>,
  ): this;
  on(ev: string, listener: (...args: any[]) => void): this { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.sockets.on(ev as 'connection', listener);
    return this;
  }

  once<Ev extends ReservedOrUserEventNames<NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<NamespaceReservedEvents<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, ServerSideEvents, Ev>,
  ): this;
  once(ev: string, listener: (...args: any[]) => void): this { // eslint-disable-line @typescript-eslint/no-explicit-any
    this.sockets.once(ev as 'connection', listener);
    return this;
  }

  off(ev: string, listener: (...args: any[]) => void): this { // eslint-disable-line @typescript-eslint/no-explicit-any -- takes back any typed listener
    this.sockets.off(ev, listener);
    return this;
  }

  removeListener(ev: string, listener: (...args: any[]) => void): this { // eslint-disable-line @typescript-eslint/no-explicit-any -- as off()
    return this.off(ev, listener);
  }

  removeAllListeners(ev?: string): this {
    this.sockets.removeAllListeners(ev);
    return this;
  }

  listeners(ev: string): Function[] { // eslint-disable-line @typescript-eslint/no-unsafe-function-type
    return this.sockets.listeners(ev);
  }

  listenerCount(ev: string): number {
    return this.sockets.listenerCount(ev);
  }

  emit<Ev extends EventNames<EmitEvents>>(ev: EventWithoutAck<EmitEvents, Ev>, ...args: EventParams<EmitEvents, Ev>): boolean {
    return (this.sockets.emit as (ev: unknown, ...a: unknown[]) => boolean)(ev, ...(args as unknown[]));
  }

  to(room: Room | readonly Room[]) {
    return this.sockets.to(room);
  }

  in(room: Room | readonly Room[]) {
    return this.sockets.in(room);
  }

  except(room: Room | readonly Room[]) {
    return this.sockets.except(room);
  }

  send(...args: unknown[]): this {
    this.sockets.send(...args);
    return this;
  }

  write(...args: unknown[]): this {
    return this.send(...args);
  }

  timeout(ms: number) {
    return this.sockets.timeout(ms);
  }

  get volatile() {
    return this.sockets.volatile;
  }

  get local() {
    return this.sockets.local;
  }

  compress(compress: boolean) {
    return this.sockets.compress(compress);
  }

  emitWithAck<Ev extends EventNames<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>>>(
    ev: EventWithTimeout<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>,
    ...args: EmitWithAckArgs<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>
  ): Promise<EmitWithAckResult<DecorateAcknowledgementsWithMultipleResponses<EmitEvents>, Ev>> {
    return this.sockets.emitWithAck(ev, ...args);
  }

  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(
    ev: NotReserved<Ev, ServerSideReservedEventName>,
    ...args: EventParams<DecorateAcknowledgementsWithTimeoutAndMultipleResponses<ServerSideEvents>, Ev>
  ): boolean {
    return this.sockets.serverSideEmit(ev, ...args);
  }

  serverSideEmitWithAck<Ev extends EventNames<ServerSideEvents>>(
    ev: AckEvent<ServerSideEvents, Ev>,
    ...args: EmitWithAckArgs<ServerSideEvents, Ev>
  ): Promise<Array<EmitWithAckResult<ServerSideEvents, Ev>>> {
    return this.sockets.serverSideEmitWithAck(ev, ...args);
  }

  fetchSockets() {
    return this.sockets.fetchSockets();
  }

  socketsJoin(room: Room | readonly Room[]): void {
    this.sockets.socketsJoin(room);
  }

  socketsLeave(room: Room | readonly Room[]): void {
    this.sockets.socketsLeave(room);
  }

  disconnectSockets(close = false): void {
    this.sockets.disconnectSockets(close);
  }

  // --- the classic API (the seed's connect / message / disconnect style) ---

  /** Sends a `message` event to every connection. */
  broadcast(...args: unknown[]): void {
    this.sockets.send(...args);
  }

  /** Sends a `message` event to every connection but `conn`. */
  broadcastExcept(conn: { id: string }, ...args: unknown[]): void {
    (this.sockets.except(conn.id) as unknown as { emit(ev: string, ...a: unknown[]): boolean }).emit('message', ...args);
  }

  /** The connection (socket of the main namespace) with this id, or undefined. */
  getConn(id: string): Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData> | undefined {
    return this.sockets.sockets.get(id);
  }

  // --- lifecycle ---

  /** Routes the HTTP server's `upgrade` events through the app, beside other upgrade listeners. */
  attach(server: HttpServer): () => void {
    this.httpServer = server;
    return this.attachFn(server);
  }

  /**
   * Disconnects every socket ('server shutting down'), closes the engine and the adapters; resolves once
   * every adapter's close() settled (a cluster adapter's may unsubscribe or tell the other nodes).
   */
  async close(fn?: (err?: Error) => void): Promise<void> {
    // with a shared store the sessions outlive this node: their clients resume them on another one
    this.sharedSessions?.handOver();
    this.recovery.closeAll('server shutting down');
    const closing: Array<Promise<void> | void> = [];
    for (const nsp of this._nsps.values()) {
      for (const socket of [...nsp.sockets.values()]) {
        const current = socket.client.current;
        if (current) current.close('server shutting down');
        else socket.onClose('server shutting down');
      }
      try {
        closing.push(nsp.adapter.close());
      } catch (err) {
        this.log.error({ err, nsp: nsp.name }, 'adapter close threw');
      }
    }
    this.engine.close();
    if (this.sharedSessions) closing.push(this.sharedSessions.close());
    for (const result of await Promise.allSettled(closing)) {
      if (result.status === 'rejected') this.log.error({ err: result.reason }, 'adapter close failed');
    }
    fn?.();
  }
}
