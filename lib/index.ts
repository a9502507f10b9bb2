// Public surface: socketio() returns the middleware function with the io server mixed in.
import { Adapter } from './adapter/adapter';
import type { Codec } from './codec/types';
import { jsonCodec } from './codec/json-codec';
import { EngineServer } from './engine/server';
import { createEngineMiddleware, type Middleware } from './express/middleware';
import type { DefaultEventsMap, EventsMap } from './io/events';
import { IoServer, type AdapterConstructor, type ParserOption } from './io/server';
import { resolveEngineOptions, type EngineOptions } from './options';
import { SocketIOError } from './errors';
import { mixin } from './util/mixin';
import { MemorySessionStore, type SessionStore } from './store/session-store';

export { engine, type EngineMiddleware, EngineSocket, EngineServer, type CloseReason } from './engine-io';
export type { EngineOptions, CookieOptions, AllowRequest, TransportName } from './options';
export { SocketIOError, ERROR_CODES, EngineErrorCode, type ErrorCode } from './errors';
export { Adapter, type AdapterLike, type BroadcastOptions, type Room, type SocketId, type Session } from './adapter/adapter';
export { PacketType, type Packet, type Codec, type Encoder, type Decoder } from './codec/types';
export { jsonCodec, type DecodeLimits, DEFAULT_DECODE_LIMITS } from './codec/json-codec';
export { IoServer, type AdapterConstructor, type ParserOption } from './io/server';
export { Namespace } from './io/namespace';
export { ParentNamespace } from './io/parent-namespace';
export { Socket, type DisconnectReason } from './io/socket';
export { BroadcastOperator, type BroadcastTimeoutError } from './io/broadcast';
export { RemoteSocket } from './io/remote-socket';
export type { Handshake } from './io/handshake';
export {
  MemorySessionStore,
  type SessionStore,
  type SessionState,
  type MissedPacket,
  type SharedSessionStore,
  type SessionRecord,
  type LogEntry,
} from './store/session-store';
export { RedisSessionStore, type RedisSessionStoreOptions, type RedisClientLike } from './store/redis-session-store';
export type { DeliveryMetrics } from './io/delivery';
export type * from './io/events';

/** Options of socketio(): the engine's (path defaults to '/socket.io/') and the Socket.IO layer's. */
export interface ServerOptions extends EngineOptions {
  /** ms a client may take to join a namespace after the handshake. @default 45000 */
  connectTimeout?: number;
  /** Adapter class for rooms and broadcasts (e.g. the official Redis adapter). @default the in-memory Adapter */
  adapter?: AdapterConstructor;
  /** Encoder/decoder pair (the seed's Codec). @default jsonCodec() */
  codec?: Codec;
  /** socket.io's `parser` option ({ Encoder, Decoder } classes), as an alternative to `codec`. */
  parser?: ParserOption;
  /** Remove dynamic child namespaces once their last socket leaves. @default false */
  cleanupEmptyChildNamespaces?: boolean;
  /**
   * ms a session waits for its client after the transport is lost (the client comes back with the same
   * socket id, rooms, data and every packet it missed); 0 turns recovery off. @default 10000
   */
  reconnectTimeout?: number;
  /** socket.io's name for the same: `maxDisconnectionDuration` sets reconnectTimeout. */
  connectionStateRecovery?: { maxDisconnectionDuration?: number; skipMiddlewares?: boolean };
  /** Packets one socket may hold unsent or unconfirmed. @default 1024 */
  maxQueuedPackets?: number;
  /** Bytes one socket may hold unsent or unconfirmed. @default 1048576 (1 MiB) */
  maxQueuedBytes?: number;
  /** Where suspended sessions wait for their client. @default a MemorySessionStore */
  sessionStore?: SessionStore;
  /**
   * Serve the official socket.io-client browser bundles at `<mount><path>socket.io.js` (also `.min.js`,
   * `.esm.min.js`, `.msgpack.min.js` and their `.map`s), aware of the mount: see docs/client.md. With
   * false those paths go to `next()`. @default true
   */
  serveClient?: boolean;
}

/** The middleware function with the io server mixed in: `app.use(io)`, `io.on('connection', …)`. */
export type SocketIoServer<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any, // eslint-disable-line @typescript-eslint/no-explicit-any -- socket.io's default
> = Middleware & IoServer<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;

function nonNegativeInt(name: string, value: number, min = 0): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new SocketIOError('ERR_INVALID_OPTION', name, `an integer >= ${min}`, String(value));
  }
  return value;
}

function resolveCodec(options: ServerOptions): Codec {
  if (options.codec && options.parser) {
    throw new SocketIOError('ERR_INVALID_OPTION', 'codec / parser', 'one of the two, not both', 'both');
  }
  if (options.codec) return options.codec;
  if (options.parser) {
    const { Encoder, Decoder } = options.parser;
    return { encoder: new Encoder(), createDecoder: () => new Decoder() };
  }
  return jsonCodec();
}

/**
 * A Socket.IO v4 server as Express/Connect middleware, served at `<mount>/socket.io/`.
 *
 * ```ts
 * const io = socketio();
 * app.use(io);                                   // or app.use('/chat', io)
 * io.on('connection', (socket) => socket.emit('hello'));
 * ```
 */
export function socketio<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any, // eslint-disable-line @typescript-eslint/no-explicit-any -- socket.io's default
>(options: ServerOptions = {}): SocketIoServer<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  const engineOpts = resolveEngineOptions(options, '/socket.io/');
  const connectTimeout = options.connectTimeout ?? 45000;
  if (!Number.isSafeInteger(connectTimeout) || connectTimeout <= 0) {
    throw new SocketIOError('ERR_INVALID_OPTION', 'connectTimeout', 'a positive integer', String(connectTimeout));
  }
  if (options.serveClient !== undefined && typeof options.serveClient !== 'boolean') {
    throw new SocketIOError('ERR_INVALID_OPTION', 'serveClient', 'a boolean', String(options.serveClient));
  }
  const engine = new EngineServer(engineOpts);
  const middleware = createEngineMiddleware(engine, engineOpts.logger, options.serveClient ?? true);
  const io = new IoServer<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(
    engine,
    {
      connectTimeout,
      adapter: options.adapter ?? (Adapter as AdapterConstructor),
      codec: resolveCodec(options),
      cleanupEmptyChildNamespaces: options.cleanupEmptyChildNamespaces ?? false,
      logger: engineOpts.logger,
      reconnectTimeout: nonNegativeInt('reconnectTimeout', options.reconnectTimeout ?? options.connectionStateRecovery?.maxDisconnectionDuration ?? 10000),
      sessionStore: options.sessionStore ?? new MemorySessionStore(),
      limits: Object.freeze({
        maxQueuedPackets: nonNegativeInt('maxQueuedPackets', options.maxQueuedPackets ?? 1024, 1),
        maxQueuedBytes: nonNegativeInt('maxQueuedBytes', options.maxQueuedBytes ?? 1048576, 1),
      }),
    },
    middleware.attach,
  );
  return mixin(middleware, io) as SocketIoServer<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
}
