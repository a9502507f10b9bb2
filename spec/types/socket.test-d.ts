// Type tests for one socket: on / once, emit, acks, timeout(), emitWithAck, socket.data, reserved events.
// Checked by `npm run typecheck` (tsc over spec/); nothing here runs. A wrong type fails the build.
import { expectTypeOf } from 'expect-type';
import type { DefaultEventsMap, DisconnectReason, Socket, SocketIoServer } from '../../lib/index';
import type { ClientToServer, InterServer, ServerToClient, SocketData } from './maps';

declare const io: SocketIoServer<ClientToServer, ServerToClient, InterServer, SocketData>;
declare const socket: Socket<ClientToServer, ServerToClient, InterServer, SocketData>;
declare const untyped: Socket;

// --- the typed socket reaches the app -------------------------------------------------------------

io.on('connection', (s) => {
  expectTypeOf(s).toEqualTypeOf<Socket<ClientToServer, ServerToClient, InterServer, SocketData>>();
  expectTypeOf(s.data).toEqualTypeOf<SocketData>();
});
io.once('connect', (s) => expectTypeOf(s).toEqualTypeOf<Socket<ClientToServer, ServerToClient, InterServer, SocketData>>());
io.of('/admin').on('connection', (s) => expectTypeOf(s.data).toEqualTypeOf<SocketData>());
io.of(/^\/room-\d+$/, (s) => expectTypeOf(s).toEqualTypeOf<Socket<ClientToServer, ServerToClient, InterServer, SocketData>>());
expectTypeOf(io.getConn('id')).toEqualTypeOf<Socket<ClientToServer, ServerToClient, InterServer, SocketData> | undefined>();

// socket.data is the SocketData generic, readable and writable
expectTypeOf(socket.data).toEqualTypeOf<SocketData>();
socket.data.user = 'alice';
// @ts-expect-error: level is a number
socket.data.level = 'high';
// @ts-expect-error: SocketData has no such field
socket.data.missing = 1;

// --- on / once: ListenEvents and the socket's reserved events -------------------------------------

socket.on('noArgs', (...args) => expectTypeOf(args).toEqualTypeOf<[]>());
socket.on('hello', (message) => expectTypeOf(message).toEqualTypeOf<string>());
socket.once('hello', (message) => expectTypeOf(message).toEqualTypeOf<string>());
socket.on('ask', (question, attempt, ack) => {
  expectTypeOf(question).toEqualTypeOf<string>();
  expectTypeOf(attempt).toEqualTypeOf<number>();
  expectTypeOf(ack).toEqualTypeOf<(answer: string, confidence: number) => void>();
  ack('yes', 0.9);
  // @ts-expect-error: the client expects (string, number) as the answer
  ack(42);
});
socket.on('disconnect', (reason, description) => {
  expectTypeOf(reason).toEqualTypeOf<DisconnectReason>();
  expectTypeOf(description).toEqualTypeOf<unknown>();
});
socket.on('disconnecting', (reason) => expectTypeOf(reason).toEqualTypeOf<DisconnectReason>());
socket.on('error', (err) => expectTypeOf(err).toEqualTypeOf<Error>());

// @ts-expect-error: not a client → server event
socket.on('unknown', () => {});
// @ts-expect-error: 'news' is server → client: the server never hears it
socket.on('news', () => {});
// @ts-expect-error: 'hello' carries a string
socket.on('hello', (message: number) => message);
// @ts-expect-error: the reserved 'disconnect' listener gets a reason, not a number
socket.on('disconnect', (reason: number) => reason);

// --- emit: EmitEvents, single target --------------------------------------------------------------

socket.emit('noArgs');
socket.emit('news', 'headline', 1);
socket.emit('double', 21, (doubled) => expectTypeOf(doubled).toEqualTypeOf<number>());
socket.emit('twoAnswers', 'q', (ok, detail) => {
  expectTypeOf(ok).toEqualTypeOf<boolean>();
  expectTypeOf(detail).toEqualTypeOf<string>();
});
socket.emit('onlyCallback', () => {});
expectTypeOf(socket.emit('noArgs')).toEqualTypeOf<boolean>();

// @ts-expect-error: 'news' takes (string, number)
socket.emit('news', 1, 1);
// @ts-expect-error: missing argument
socket.emit('news', 'headline');
// @ts-expect-error: not a server → client event
socket.emit('unknown');
// @ts-expect-error: 'hello' is client → server
socket.emit('hello', 'x');
// @ts-expect-error: the ack gets a number, not a string
socket.emit('double', 21, (doubled: string) => doubled);

// --- timeout(): the ack gets (err, ...answer); acks answered later get null as err ----------------

socket.timeout(1000).emit('double', 21, (err, doubled) => {
  expectTypeOf(err).toEqualTypeOf<Error | null>();
  expectTypeOf(doubled).toEqualTypeOf<number>();
});
socket.timeout(1000).emit('twoAnswers', 'q', (err, ok, detail) => {
  expectTypeOf(err).toEqualTypeOf<Error | null>();
  expectTypeOf(ok).toEqualTypeOf<boolean>();
  expectTypeOf(detail).toEqualTypeOf<string>();
});
socket.timeout(1000).emit('onlyCallback', (err) => expectTypeOf(err).toEqualTypeOf<Error | null>());
// a callback annotated the way the official typings describe it, (err: Error, …), still fits
socket.timeout(1000).emit('double', 21, (err: Error, doubled: number) => [err, doubled]);
// events without an ack are unchanged
socket.timeout(1000).emit('news', 'headline', 1);
// @ts-expect-error: with timeout() the first argument is the error, not the answer
socket.timeout(1000).emit('double', 21, (doubled: number, extra: number) => doubled + extra);
expectTypeOf(socket.timeout(5).timeout(5).data).toEqualTypeOf<SocketData>();

// --- emitWithAck: the ack's value, with or without timeout() --------------------------------------

expectTypeOf(socket.emitWithAck('double', 21)).toEqualTypeOf<Promise<number>>();
expectTypeOf(socket.emitWithAck('twoAnswers', 'q')).toEqualTypeOf<Promise<boolean>>();
expectTypeOf(socket.emitWithAck('onlyCallback')).toEqualTypeOf<Promise<undefined>>();
expectTypeOf(socket.timeout(1000).emitWithAck('double', 21)).toEqualTypeOf<Promise<number>>();
expectTypeOf(socket.timeout(1000).emitWithAck('twoAnswers', 'q')).toEqualTypeOf<Promise<boolean>>();
expectTypeOf(socket.timeout(1000).emitWithAck('onlyCallback')).toEqualTypeOf<Promise<undefined>>();
// @ts-expect-error: 'news' has no ack to wait for
void socket.emitWithAck('news', 'headline', 1);
// @ts-expect-error: 'noArgs' has no ack to wait for
void socket.timeout(1000).emitWithAck('noArgs');
// @ts-expect-error: the callback is emitWithAck's to add, not the caller's
void socket.emitWithAck('double', 21, () => {});
// @ts-expect-error: wrong argument type
void socket.emitWithAck('double', '21');

// --- reserved names: emit would throw, so it does not compile, typed map or not -------------------

// @ts-expect-error: 'disconnect' is reserved
untyped.emit('disconnect');
// @ts-expect-error: 'connect' is reserved
untyped.emit('connect', 1);
// @ts-expect-error: 'newListener' is reserved
untyped.timeout(5).emit('newListener', () => {});
// @ts-expect-error: reserved on a broadcast too
untyped.broadcast.emit('connect_error');

// --- an untyped socket accepts anything, with `any` arguments -------------------------------------

untyped.emit('anything', 1, '2', [3]);
untyped.emit('with ack', (answer: number) => answer);
untyped.timeout(5).emit('with ack', (err: Error | null, answer: number) => [err, answer]);
untyped.on('anything', (a, b) => {
  expectTypeOf(a).toBeAny();
  expectTypeOf(b).toBeAny();
});
expectTypeOf(untyped.emitWithAck('anything', 1)).toEqualTypeOf<Promise<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- socket.io's untyped default
expectTypeOf(untyped).toEqualTypeOf<Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- socket.io's untyped default
