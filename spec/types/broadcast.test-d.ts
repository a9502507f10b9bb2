// Type tests for broadcasts: io.emit, io.to().emit, socket.broadcast.emit, timeout() with one answer per
// client, emitWithAck, fetchSockets. Checked by `npm run typecheck`; nothing here runs.
import { expectTypeOf } from 'expect-type';
import type {
  BroadcastOperator,
  BroadcastTimeoutError,
  DecorateAcknowledgements,
  DecorateAcknowledgementsWithBroadcastTimeout,
  DecorateAcknowledgementsWithMultipleResponses,
  Namespace,
  RemoteSocket,
  Socket,
  SocketIoServer,
} from '../../lib/index';
import type { ClientToServer, InterServer, ServerToClient, SocketData } from './maps';

declare const io: SocketIoServer<ClientToServer, ServerToClient, InterServer, SocketData>;
declare const nsp: Namespace<ClientToServer, ServerToClient, InterServer, SocketData>;
declare const socket: Socket<ClientToServer, ServerToClient, InterServer, SocketData>;
declare const untypedIo: SocketIoServer;

type Collecting = BroadcastOperator<DecorateAcknowledgementsWithMultipleResponses<ServerToClient>, SocketData>;
type CollectingWithTimeout = BroadcastOperator<DecorateAcknowledgementsWithBroadcastTimeout<ServerToClient>, SocketData>;

// --- every road to a broadcast gives the same operator ---------------------------------------------

expectTypeOf(io.to('r')).toEqualTypeOf<Collecting>();
expectTypeOf(io.in(['r', 's'])).toEqualTypeOf<Collecting>();
expectTypeOf(io.except('r')).toEqualTypeOf<Collecting>();
expectTypeOf(io.volatile).toEqualTypeOf<Collecting>();
expectTypeOf(io.local).toEqualTypeOf<Collecting>();
expectTypeOf(io.compress(false)).toEqualTypeOf<Collecting>();
expectTypeOf(io.to('r').to('s').except('t').volatile.local.compress(true)).toEqualTypeOf<Collecting>();
expectTypeOf(nsp.to('r')).toEqualTypeOf<Collecting>();
expectTypeOf(nsp.volatile).toEqualTypeOf<Collecting>();
expectTypeOf(socket.broadcast).toEqualTypeOf<Collecting>();
expectTypeOf(socket.to('r')).toEqualTypeOf<Collecting>();
expectTypeOf(socket.in('r')).toEqualTypeOf<Collecting>();
expectTypeOf(socket.except('r')).toEqualTypeOf<Collecting>();
expectTypeOf(socket.local).toEqualTypeOf<Collecting>();
expectTypeOf(socket.volatile.broadcast).toEqualTypeOf<Collecting>();

// timeout() wherever it comes in the chain, once or twice: (err, responses), err a BroadcastTimeoutError
expectTypeOf(io.timeout(5)).toEqualTypeOf<CollectingWithTimeout>();
expectTypeOf(nsp.timeout(5)).toEqualTypeOf<CollectingWithTimeout>();
expectTypeOf(io.to('r').timeout(5)).toEqualTypeOf<CollectingWithTimeout>();
expectTypeOf(io.timeout(5).to('r')).toEqualTypeOf<CollectingWithTimeout>();
expectTypeOf(io.timeout(5).timeout(5)).toEqualTypeOf<CollectingWithTimeout>();
expectTypeOf(socket.broadcast.timeout(5)).toEqualTypeOf<CollectingWithTimeout>();
// a socket's timeout carried into its broadcast: a plain Error (still (err, responses))
expectTypeOf(socket.timeout(5).broadcast).toEqualTypeOf<BroadcastOperator<
  DecorateAcknowledgementsWithMultipleResponses<DecorateAcknowledgements<ServerToClient>>,
  SocketData
>>();

// --- io.emit / nsp.emit: no timeout, so no ack -------------------------------------------------------

io.emit('noArgs');
io.emit('news', 'headline', 1);
nsp.emit('news', 'headline', 1);
io.of('/admin').emit('news', 'headline', 1);
expectTypeOf(io.emit('noArgs')).toEqualTypeOf<boolean>();
// @ts-expect-error: an event with an ack is broadcast with timeout(ms).emit()
io.emit('double', 21, () => {});
// @ts-expect-error: the same on a namespace
nsp.emit('double', 21, () => {});
// @ts-expect-error: 'news' takes (string, number)
io.emit('news', 1, 1);
// @ts-expect-error: not a server → client event
io.emit('unknown');
// @ts-expect-error: 'hello' is client → server
io.emit('hello', 'x');
// @ts-expect-error: reserved
untypedIo.emit('disconnect');

// --- to() / broadcast without timeout: one answer per client, as socket.io types it -----------------

io.to('r').emit('news', 'headline', 1);
socket.broadcast.emit('noArgs');
io.to('r').emit('double', 21, (answers) => expectTypeOf(answers).toEqualTypeOf<number[]>());
socket.broadcast.emit('double', 21, (answers) => expectTypeOf(answers).toEqualTypeOf<number[]>());
// each client's first answer is collected; the others are dropped
io.to('r').emit('twoAnswers', 'q', (...args) => expectTypeOf(args).toEqualTypeOf<[boolean[]]>());
io.to('r').emit('onlyCallback', (responses) => expectTypeOf(responses).toEqualTypeOf<undefined[]>());
// @ts-expect-error: a broadcast hands over no second answer
io.to('r').emit('twoAnswers', 'q', (oks: boolean[], details: string[]) => [oks, details]);
// @ts-expect-error: one array, not a single number
io.to('r').emit('double', 21, (answer: number) => answer);
// @ts-expect-error: wrong argument
socket.to('r').emit('news', 'headline', '1');

// --- timeout(): (err, responses); err is null once everyone answered --------------------------------

io.timeout(1000).emit('double', 21, (err, answers) => {
  expectTypeOf(err).toEqualTypeOf<BroadcastTimeoutError | null>();
  expectTypeOf(answers).toEqualTypeOf<number[]>();
  // who stayed silent, and what did arrive, without a cast
  if (err) expectTypeOf(err.missing).toEqualTypeOf<string[]>();
});
io.to('r').timeout(1000).emit('twoAnswers', 'q', (...args) =>
  expectTypeOf(args).toEqualTypeOf<[BroadcastTimeoutError | null, boolean[]]>(),
);
socket.broadcast.timeout(1000).emit('double', 21, (err, answers) => {
  expectTypeOf(err).toEqualTypeOf<BroadcastTimeoutError | null>();
  expectTypeOf(answers).toEqualTypeOf<number[]>();
});
socket.timeout(1000).broadcast.emit('double', 21, (err, answers) => {
  expectTypeOf(err).toEqualTypeOf<Error | null>();
  expectTypeOf(answers).toEqualTypeOf<number[]>();
});
nsp.timeout(1000).emit('onlyCallback', (_err, responses) => expectTypeOf(responses).toEqualTypeOf<undefined[]>());
// annotated callbacks fit when they accept null
io.timeout(1000).emit('double', 21, (err: Error | null, answers: number[]) => [err, answers]);
io.timeout(1000).emit('news', 'headline', 1);
// @ts-expect-error: the error comes first
io.timeout(1000).emit('double', 21, (answers: number[]) => answers);
// @ts-expect-error: err is null when every client answered (the official typings say Error)
io.timeout(1000).emit('double', 21, (err: Error, answers: number[]) => [err, answers]);

// --- emitWithAck: every answer, and only after timeout() --------------------------------------------

expectTypeOf(io.timeout(1000).emitWithAck('double', 21)).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(nsp.timeout(1000).emitWithAck('double', 21)).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(io.to('r').timeout(1000).emitWithAck('twoAnswers', 'q')).toEqualTypeOf<Promise<boolean[]>>();
expectTypeOf(socket.broadcast.timeout(1000).emitWithAck('double', 1)).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(socket.timeout(1000).broadcast.emitWithAck('double', 1)).toEqualTypeOf<Promise<number[]>>();
expectTypeOf(io.timeout(1000).emitWithAck('onlyCallback')).toEqualTypeOf<Promise<undefined[]>>();
// @ts-expect-error: emitWithAck on a broadcast needs timeout(ms) first
void io.to('r').emitWithAck('double', 21);
// @ts-expect-error: the same for socket.broadcast
void socket.broadcast.emitWithAck('double', 21);
// @ts-expect-error: and for io.emitWithAck(), which socket.io does not even have
void io.emitWithAck('double', 21);
// @ts-expect-error: and for nsp.emitWithAck()
void nsp.emitWithAck('double', 21);
// @ts-expect-error: 'news' declares no ack to wait for
void io.timeout(1000).emitWithAck('news', 'headline', 1);
// @ts-expect-error: 'noArgs' neither
void io.timeout(1000).emitWithAck('noArgs');
// @ts-expect-error: argument of the wrong type
void io.timeout(1000).emitWithAck('double', '21');

// --- fetchSockets(): SocketData, and emits without ack ----------------------------------------------

type Fetched = RemoteSocket<ServerToClient, SocketData>;
expectTypeOf(io.fetchSockets()).toEqualTypeOf<Promise<Fetched[]>>();
expectTypeOf(nsp.fetchSockets()).toEqualTypeOf<Promise<Fetched[]>>();
expectTypeOf(io.fetchSockets()).resolves.items.toHaveProperty('data').toEqualTypeOf<SocketData>();
expectTypeOf(io.in('r').fetchSockets()).resolves.items.toHaveProperty('data').toEqualTypeOf<SocketData>();
expectTypeOf(socket.to('r').fetchSockets()).resolves.items.toHaveProperty('data').toEqualTypeOf<SocketData>();
expectTypeOf(io.in('r').fetchSockets()).resolves.items.toHaveProperty('id').toEqualTypeOf<string>();

declare const remote: Fetched;
remote.emit('news', 'headline', 1);
remote.join('r');
// @ts-expect-error: a RemoteSocket waits for an ack only after timeout()
remote.emit('double', 21, () => {});
// @ts-expect-error: wrong argument
remote.emit('news', 1, 1);
// @ts-expect-error: data is SocketData
expectTypeOf(remote.data.user).toEqualTypeOf<number>();

// --- untyped: anything goes, `any` answers ----------------------------------------------------------

untypedIo.emit('anything', 1, { a: 2 });
untypedIo.emit('with ack', (answers: unknown) => answers);
untypedIo.to('r').emit('with ack', (answers: unknown) => answers);
untypedIo.timeout(5).emit('with ack', (err: Error | null, answers: unknown[]) => [err, answers]);
expectTypeOf(untypedIo.to('r').emitWithAck('anything')).toEqualTypeOf<Promise<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- socket.io's untyped default
expectTypeOf(untypedIo.timeout(5).emitWithAck('anything', 1)).toEqualTypeOf<Promise<any>>(); // eslint-disable-line @typescript-eslint/no-explicit-any -- socket.io's untyped default
expectTypeOf(untypedIo.fetchSockets()).resolves.items.toHaveProperty('data').toBeAny();
