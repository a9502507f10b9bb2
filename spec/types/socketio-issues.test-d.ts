// Known typing bugs of the official socket.io, reproduced against our types to show we do not have them.
// Each section quotes the issue's event map and calls; checked by `npm run typecheck`, nothing runs.
import { expectTypeOf } from 'expect-type';
import type { BroadcastTimeoutError, Refused, Socket, SocketIoServer } from '../../lib/index';

/*
 * socketio/socket.io#4813 "Type issues with `emit` and `emitWithAck`" (4.7.2): broadcast acks were typed
 * as if one client answered (`io.to('1').emit('withAck', …, (...args))` gave `[number]`, not `[number[]]`),
 * a two-argument ack kept both arguments on a broadcast although only the first is collected, io.emit()
 * took an ack it could never honour without timeout(), and the emitWithAck variants fell back to `any`.
 * Ours: without timeout(), io.emit() / nsp.emit() refuse events with an ack (nothing would bound the
 * wait); io.to() / socket.broadcast give `(responses: T[])`; timeout() gives `(err, responses: T[])`,
 * err a `BroadcastTimeoutError | null` (with the `missing` ids); only each client's first answer is
 * kept (`withAck2` → `number[]`), which is what BroadcastOperator collects at runtime; emitWithAck
 * resolves with `number` on a socket and `number[]` on a broadcast, never `any`; serverSideEmit's ack
 * gets `(err, responses[])`. `io.timeout(1).emit('basicEmit')` stays allowed, as in socket.io 4.8:
 * without an ack nothing waits, the timeout is simply unused.
 */
interface Issue4813ServerToClient {
  basicEmit: (a: number, b: string) => void;
  withAck: (d: string, callback: (e: number) => void) => void;
  withAck2: (d: string, callback: (e: number, f: string) => void) => void;
}
interface Issue4813InterServer {
  count: (callback: (n: number) => void) => void;
}
export function issue4813(
  io: SocketIoServer<Record<string, never>, Issue4813ServerToClient, Issue4813InterServer>,
  socket: Socket<Record<string, never>, Issue4813ServerToClient>,
): void {
  io.timeout(1).emit('basicEmit', 3, '');
  // @ts-expect-error: no timeout, so no ack on io.emit (the issue's `[number]` case)
  io.emit('withAck', 'hello', () => {});
  io.timeout(1).emit('withAck', 'hello', (...args) => expectTypeOf(args).toEqualTypeOf<[BroadcastTimeoutError | null, number[]]>());
  io.to('1').to('2').emit('withAck', '', (...args) => expectTypeOf(args).toEqualTypeOf<[number[]]>());
  // @ts-expect-error: the issue's `[number, string]` case is refused the same way
  io.emit('withAck2', 'hello', () => {});
  io.to('1').emit('withAck2', 'hello', (...args) => expectTypeOf(args).toEqualTypeOf<[number[]]>());
  io.timeout(1).emit('withAck2', 'hello', (...args) => expectTypeOf(args).toEqualTypeOf<[BroadcastTimeoutError | null, number[]]>());
  // a single target keeps every argument of the ack
  socket.emit('withAck2', 'hello', (...args) => expectTypeOf(args).toEqualTypeOf<[number, string]>());
  socket.timeout(1).emit('withAck2', 'hello', (...args) => expectTypeOf(args).toEqualTypeOf<[Error | null, number, string]>());

  expectTypeOf(socket.emitWithAck('withAck', 'x')).toEqualTypeOf<Promise<number>>();
  expectTypeOf(socket.emitWithAck('withAck2', 'x')).toEqualTypeOf<Promise<number>>();
  expectTypeOf(io.timeout(1).emitWithAck('withAck', 'x')).toEqualTypeOf<Promise<number[]>>();
  expectTypeOf(io.to('1').timeout(1).emitWithAck('withAck2', 'x')).toEqualTypeOf<Promise<number[]>>();
  // @ts-expect-error: emitWithAck on a broadcast needs timeout(ms) first
  void io.emitWithAck('withAck', 'x');
  // @ts-expect-error: the same through to()
  void io.to('1').emitWithAck('withAck', 'x');

  io.serverSideEmit('count', (...args) => expectTypeOf(args).toEqualTypeOf<[Error | null, number[]]>());
  expectTypeOf(io.serverSideEmitWithAck('count')).toEqualTypeOf<Promise<number[]>>();
}

/*
 * socketio/socket.io#5257 "Server emitWithAck on typed Server has 'never' typing" (4.8.1, open): an ack
 * whose only parameter is the Error, `someEvent: (callback: (err: Error) => void) => void`, made
 * `socket.emitWithAck('someEvent')` fail with "not assignable to parameter of type 'never'" while
 * `socket.emit('someEvent', (err) => {})` compiled: the event was dropped from the names with an ack
 * because its ack has no value besides the error (fixed upstream later by socket.io#5453).
 * Ours: any event whose last parameter is a function has an ack, whatever that function takes, so
 * emitWithAck accepts it and resolves with `undefined` (the ack carries no value); an ack of no
 * parameters behaves the same; on a broadcast with timeout() that is one `undefined` per client.
 */
interface Issue5257ServerToClient {
  someEvent: (callback: (err: Error) => void) => void;
  ackOnly: (callback: () => void) => void;
}
export function issue5257(io: SocketIoServer<Record<string, never>, Issue5257ServerToClient>): void {
  io.on('connection', async (socket) => {
    expectTypeOf(socket.emitWithAck('someEvent')).toEqualTypeOf<Promise<undefined>>();
    expectTypeOf(socket.timeout(5).emitWithAck('someEvent')).toEqualTypeOf<Promise<undefined>>();
    expectTypeOf(socket.emitWithAck('ackOnly')).toEqualTypeOf<Promise<undefined>>();
    expectTypeOf(socket.timeout(5).emitWithAck('ackOnly')).toEqualTypeOf<Promise<undefined>>();
    await socket.emitWithAck('someEvent');
    socket.emit('someEvent', (err) => expectTypeOf(err).toEqualTypeOf<Error>());
    expectTypeOf(io.timeout(5).emitWithAck('ackOnly')).toEqualTypeOf<Promise<undefined[]>>();
    expectTypeOf(io.timeout(5).emitWithAck('someEvent')).toEqualTypeOf<Promise<undefined[]>>();
  });
}

/*
 * socketio/socket.io#5367 "Type for emitWithAck seems incorrect" (closed as working as intended): with
 * `"game:join": (args: {…}) => void`, i.e. no callback in the map, `emitWithAck("game:join", {…})`
 * failed with "Expected 1 arguments, but got 2": emitWithAck's AllButLast took the payload for the ack
 * and silently dropped it. The maintainer's answer: declare the callback in the map.
 * Ours: an event without an ack is refused by name, with the reason in the error ("this event declares
 * no ack to wait for"), and keeps all its arguments, so the payload is never mistaken for the ack;
 * declared with its callback, the payload is checked and the promise resolves with the ack's value.
 * (The issue is about socket.io-client's socket; our server Socket has the same emitWithAck.)
 */
type GameID = string;
type ColorID = number;
interface Issue5367WithoutCallback {
  'game:join': (args: { gameName: GameID; color: ColorID }) => void;
}
interface Issue5367WithCallback {
  'game:join': (args: { gameName: GameID; color: ColorID }, callback: (result: string) => void) => void;
}
export function issue5367(
  without: Socket<Record<string, never>, Issue5367WithoutCallback>,
  withCallback: Socket<Record<string, never>, Issue5367WithCallback>,
): void {
  // @ts-expect-error: refused by name: 'game:join' declares no ack to wait for
  void without.emitWithAck('game:join', { gameName: 'g', color: 1 });
  expectTypeOf<Parameters<typeof without.emitWithAck<'game:join'>>>().toEqualTypeOf<
    [ev: Refused<'game:join', 'this event declares no ack to wait for'>, args: { gameName: GameID; color: ColorID }]
  >();
  without.emit('game:join', { gameName: 'g', color: 1 });

  expectTypeOf(withCallback.emitWithAck('game:join', { gameName: 'g', color: 1 })).toEqualTypeOf<Promise<string>>();
  // @ts-expect-error: the payload is checked
  void withCallback.emitWithAck('game:join', { gameName: 'g', color: 'red' });
  // @ts-expect-error: the callback is emitWithAck's to add
  void withCallback.emitWithAck('game:join', { gameName: 'g', color: 1 }, () => {});
}

/*
 * Two neighbours of the above, fixed upstream in 4.7.x: socketio/socket.io#4925 (timeout().emitWithAck()
 * resolved with `any`, because the first ack argument was now the timeout error) and #4914 (io.emit()
 * of an event without arguments failed once acks were filtered out of io.emit()).
 */
interface Issues4925and4914ServerToClient {
  hello: (cb: (val: number) => void) => void;
  noArg: () => void;
}
export function issues4925and4914(
  io: SocketIoServer<Record<string, never>, Issues4925and4914ServerToClient>,
  socket: Socket<Record<string, never>, Issues4925and4914ServerToClient>,
): void {
  expectTypeOf(socket.emitWithAck('hello')).toEqualTypeOf<Promise<number>>();
  expectTypeOf(socket.timeout(1000).emitWithAck('hello')).toEqualTypeOf<Promise<number>>();
  io.emit('noArg');
  io.of('/x').emit('noArg');
}
