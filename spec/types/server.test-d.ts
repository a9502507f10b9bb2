// Type tests for the server and its namespaces: socketio()'s four generics, io.on / once / off,
// connection middleware, namespaces, serverSideEmit / serverSideEmitWithAck, and the untyped defaults.
// Checked by `npm run typecheck`; nothing here runs.
import { expectTypeOf } from 'expect-type';
import { socketio } from '../../lib/index';
import type { DefaultEventsMap, IoServer, Namespace, Socket, SocketIoServer } from '../../lib/index';
import type { ClientToServer, InterServer, ServerToClient, SocketData } from './maps';

type TypedSocket = Socket<ClientToServer, ServerToClient, InterServer, SocketData>;
type TypedNamespace = Namespace<ClientToServer, ServerToClient, InterServer, SocketData>;

declare const io: SocketIoServer<ClientToServer, ServerToClient, InterServer, SocketData>;
declare const untypedIo: SocketIoServer;

// --- socketio<L, E, S, D>() carries the four generics; the defaults are socket.io's ------------------

expectTypeOf(socketio<ClientToServer, ServerToClient, InterServer, SocketData>).returns.toEqualTypeOf<
  SocketIoServer<ClientToServer, ServerToClient, InterServer, SocketData>
>();
expectTypeOf(socketio()).toEqualTypeOf<SocketIoServer<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- socket.io's default
expectTypeOf(io).toMatchTypeOf<IoServer<ClientToServer, ServerToClient, InterServer, SocketData>>();
expectTypeOf(io.sockets).toEqualTypeOf<TypedNamespace>();
expectTypeOf(io.of('/admin')).toEqualTypeOf<TypedNamespace>();
expectTypeOf(io.of(/^\/room-\d+$/)).toEqualTypeOf<TypedNamespace>();
// `this`-returning methods keep the middleware function type: app.use(io.on(...)) still works
expectTypeOf(io.on('connection', () => {})).toEqualTypeOf(io);
expectTypeOf(io.use(() => {})).toEqualTypeOf(io);

// --- io.on / once / off: the namespace's own events, and ServerSideEvents ---------------------------

io.on('connection', (socket) => expectTypeOf(socket).toEqualTypeOf<TypedSocket>());
io.on('connect', (socket) => expectTypeOf(socket).toEqualTypeOf<TypedSocket>());
io.on('new_namespace', (created) => expectTypeOf(created).toEqualTypeOf<TypedNamespace>());
io.on('sync', (state, version) => {
  expectTypeOf(state).toEqualTypeOf<string>();
  expectTypeOf(version).toEqualTypeOf<number>();
});
io.on('count', (room, ack) => {
  expectTypeOf(room).toEqualTypeOf<string>();
  ack(3);
});
io.once('ping', (...args) => expectTypeOf(args).toEqualTypeOf<[]>());
io.of('/admin').on('sync', (state) => expectTypeOf(state).toEqualTypeOf<string>());
io.of('/admin').once('connection', (socket) => expectTypeOf(socket).toEqualTypeOf<TypedSocket>());
// classic API events keep their (connection, …) shape
io.on('message', (conn, ...args) => {
  expectTypeOf(conn).toEqualTypeOf<TypedSocket>();
  expectTypeOf(args).toEqualTypeOf<unknown[]>();
});
// off() takes back a typed listener
const onConnection = (socket: TypedSocket): void => void socket.join('lobby');
io.on('connection', onConnection);
io.off('connection', onConnection);
io.removeListener('connection', onConnection);

// @ts-expect-error: not a server-side event
io.on('unknown', () => {});
// @ts-expect-error: 'hello' is client → server: socket.on() hears it, io.on() does not
io.on('hello', () => {});
// @ts-expect-error: 'sync' carries (string, number)
io.on('sync', (state: number) => state);
// @ts-expect-error: a connection listener gets a socket
io.on('connection', (socket: string) => socket);

// --- connection middleware: the typed socket, next(err with data) -----------------------------------

io.use((socket, next) => {
  expectTypeOf(socket).toEqualTypeOf<TypedSocket>();
  expectTypeOf(socket.data).toEqualTypeOf<SocketData>();
  socket.data.user = socket.handshake.auth.user as string;
  next();
});
io.of('/admin').use((socket, next) => {
  expectTypeOf(socket).toEqualTypeOf<TypedSocket>();
  const err: Error & { data?: unknown } = new Error('not authorized');
  err.data = { retry: false };
  next(err);
});
io.use(async (socket) => {
  socket.data.level = 1;
});
// @ts-expect-error: next() takes an Error
io.use((_socket, next) => next('no'));
// @ts-expect-error: socket.data is SocketData
io.use((socket, next) => next(socket.data.nope));

// --- serverSideEmit: ServerSideEvents, an ack gets (err, one answer per server) ---------------------

io.serverSideEmit('ping');
io.serverSideEmit('sync', 'state', 2);
io.of('/admin').serverSideEmit('sync', 'state', 2);
io.serverSideEmit('count', 'room', (err, counts) => {
  expectTypeOf(err).toEqualTypeOf<Error | null>();
  expectTypeOf(counts).toEqualTypeOf<number[]>();
});
expectTypeOf(io.serverSideEmit('ping')).toEqualTypeOf<boolean>();
// @ts-expect-error: 'sync' carries (string, number)
io.serverSideEmit('sync', 2, 2);
// @ts-expect-error: not a server-side event
io.serverSideEmit('unknown');
// @ts-expect-error: 'news' is server → client, not server ↔ server
io.serverSideEmit('news', 'h', 1);
// @ts-expect-error: the ack gets (err, counts)
io.serverSideEmit('count', 'room', (counts: number[]) => counts);
// @ts-expect-error: 'connection' is the namespace's own event: serverSideEmit throws on it
untypedIo.serverSideEmit('connection');
// @ts-expect-error: and on 'new_namespace'
untypedIo.of('/x').serverSideEmit('new_namespace');

expectTypeOf(io.serverSideEmitWithAck('count', 'room')).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(io.of('/admin').serverSideEmitWithAck('count', 'room')).toEqualTypeOf<Promise<number[]>>();
// @ts-expect-error: 'sync' declares no ack to wait for
void io.serverSideEmitWithAck('sync', 'state', 2);
// @ts-expect-error: the callback is serverSideEmitWithAck's to add
void io.serverSideEmitWithAck('count', 'room', () => {});

// --- untyped server: any name, `any` arguments, sockets of the default maps -------------------------

untypedIo.on('connection', (socket) => {
  expectTypeOf(socket).toEqualTypeOf<Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- socket.io's default
  expectTypeOf(socket.data).toBeAny();
  socket.on('anything', (a) => expectTypeOf(a).toBeAny());
});
untypedIo.on('from another server', (a, b) => {
  expectTypeOf(a).toBeAny();
  expectTypeOf(b).toBeAny();
});
untypedIo.serverSideEmit('anything', 1, 2);
expectTypeOf(untypedIo.serverSideEmitWithAck('anything')).toEqualTypeOf<Promise<any[]>>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- socket.io's default
// a typed socket still goes where an untyped one is expected (the engine's and adapter's view)
declare const typed: TypedSocket;
expectTypeOf(typed).toMatchTypeOf<Socket>();
expectTypeOf(io.of('/admin')).toMatchTypeOf<Namespace>();
