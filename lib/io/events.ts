// Typed event maps: the four generics of socket.io (client→server, server→client, inter-server, socket.data).
/* eslint-disable @typescript-eslint/no-explicit-any -- listener maps need `any` for parameter bivariance */
import type { BroadcastTimeoutError } from './broadcast';

/** A map of event names to listener signatures; an ack is a function as the last parameter. */
export interface EventsMap {
  [event: string]: any;
}

/** What an untyped server uses: any event, any arguments. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}

export type EventNames<Map extends EventsMap> = keyof Map & (string | symbol);
export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>;

/** Event names the protocol keeps for itself: socket.emit() and broadcasts throw on them. */
export type ReservedEventName = 'connect' | 'connect_error' | 'disconnect' | 'disconnecting' | 'newListener' | 'removeListener';

/** Names serverSideEmit() throws on: the namespace's own events. */
export type ServerSideReservedEventName = 'connect' | 'connection' | 'new_namespace';

/**
 * The type an `ev` parameter gets for a name the call refuses: no string matches it, and the
 * compiler error shows the reason. Still assignable to `Ev`, so a typed Socket or Namespace stays
 * assignable to the untyped one.
 */
export type Refused<Ev, Reason extends string> = Ev & { readonly refused: Reason };

/** `Ev`, refused when it is one of `Reserved`: `socket.emit('disconnect')` would throw, so it does not compile. */
export type NotReserved<Ev, Reserved = ReservedEventName> = Ev extends Reserved ? Refused<Ev, 'reserved event name'> : Ev;

type IsAny<T> = 0 extends 1 & T ? true : false;

/** The last element of a tuple (the ack callback, when there is one). */
export type Last<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L]
  ? L
  : T extends ReadonlyArray<infer E>
    ? E
    : never;

/** A tuple without its last element. */
export type AllButLast<T extends readonly unknown[]> = T extends readonly [...infer Head, unknown] ? Head : unknown[];

/** Whether an ack's parameters start with the timeout error (`Error`, or `Error | null` as timeout() writes it). */
type IsErrorFirst<P extends readonly unknown[]> = P extends readonly [infer First, ...unknown[]]
  ? IsAny<First> extends true
    ? false
    : [First] extends [null]
      ? false
      : [First] extends [Error | null]
        ? true
        : false
  : false;

/** An ack's parameters without the leading timeout error, if it has one. */
type AckValues<P extends readonly unknown[]> = IsErrorFirst<P> extends true ? (P extends readonly [unknown, ...infer Rest] ? Rest : P) : P;

/** The first element of a tuple; `undefined` for an empty one (the value of an ack called with nothing). */
type FirstOf<T extends readonly unknown[]> = T extends readonly [infer First, ...unknown[]]
  ? First
  : T extends readonly []
    ? undefined
    : T[number];

/** What emitWithAck resolves with for an ack `F`: its first argument that is not the timeout error. */
export type FirstNonErrorArg<F> = IsAny<F> extends true ? any : F extends (...args: infer P) => any ? FirstOf<AckValues<P>> : never;

/** Whether the parameters end with an ack callback. */
type HasAck<P extends readonly unknown[]> = P extends readonly []
  ? false
  : IsAny<Last<P>> extends true
    ? true
    : Last<P> extends (...args: any[]) => any
      ? true
      : false;

/** Events whose last parameter is an ack callback (every event of an untyped map). */
export type EventNamesWithAck<Map extends EventsMap> = {
  [K in EventNames<Map>]: IsAny<Map[K]> extends true ? K : HasAck<Parameters<Map[K]>> extends true ? K : never;
}[EventNames<Map>];

/** Events without an ack callback (every event of an untyped map). */
export type EventNamesWithoutAck<Map extends EventsMap> = {
  [K in EventNames<Map>]: IsAny<Map[K]> extends true ? K : HasAck<Parameters<Map[K]>> extends true ? (IsAny<Last<Parameters<Map[K]>>> extends true ? K : never) : K;
}[EventNames<Map>];

/** Events whose ack takes the timeout error first: after timeout(), every event with an ack. */
export type EventNamesWithError<Map extends EventsMap> = {
  [K in EventNames<Map>]: IsAny<Map[K]> extends true
    ? K
    : HasAck<Parameters<Map[K]>> extends true
      ? IsAny<Last<Parameters<Map[K]>>> extends true
        ? K
        : Last<Parameters<Map[K]>> extends (...args: infer A) => any
          ? IsErrorFirst<A> extends true
            ? K
            : never
          : never
      : never;
}[EventNames<Map>];

/** The events without an ack: what io.emit() / nsp.emit() accept, since they have no timeout to wait with. */
export type RemoveAcknowledgements<E extends EventsMap> = {
  [K in EventNamesWithoutAck<E>]: E[K];
};

// The `ev` parameter types below check an event name against the map; an untyped map (every name
// allowed) resolves to `Ev` at once, so typed sockets and namespaces stay assignable to untyped ones.

/** The `ev` of emitWithAck: the event if it has an ack to wait for. */
export type AckEvent<Map extends EventsMap, Ev> = string extends EventNamesWithAck<Map>
  ? Ev
  : Ev extends EventNamesWithAck<Map>
    ? Ev
    : Refused<Ev, 'this event declares no ack to wait for'>;

/** The `ev` of io.emit() / nsp.emit(): without timeout() nothing would bound the wait for an ack. */
export type EventWithoutAck<
  Map extends EventsMap,
  Ev,
  Reason extends string = 'an event with an ack is broadcast with timeout(ms).emit()',
> = string extends EventNamesWithoutAck<Map> ? NotReserved<Ev> : Ev extends EventNamesWithoutAck<Map> ? NotReserved<Ev> : Refused<Ev, Reason>;

/**
 * emitWithAck(ev, ...args): the event's arguments without the callback. An event without an ack keeps
 * all of them, so the error is the event name (AckEvent), never a payload taken for the ack.
 */
export type EmitWithAckArgs<Map extends EventsMap, Ev extends EventNames<Map>> = IsAny<Map[Ev]> extends true
  ? any[]
  : HasAck<EventParams<Map, Ev>> extends true
    ? AllButLast<EventParams<Map, Ev>>
    : EventParams<Map, Ev>;

/** The value emitWithAck resolves with: the ack's first argument that is not the timeout error. */
export type EmitWithAckResult<Map extends EventsMap, Ev extends EventNames<Map>> = IsAny<Map[Ev]> extends true
  ? any
  : FirstNonErrorArg<Last<EventParams<Map, Ev>>>;

/**
 * The `ev` of a broadcast's emitWithAck: an event whose ack takes the timeout error, i.e. one emitted
 * after timeout(). Without it a client that never answers (or leaves) would keep the promise pending
 * for good, which is why socket.io refuses it too.
 */
export type EventWithTimeout<Map extends EventsMap, Ev> = string extends EventNamesWithError<Map>
  ? Ev
  : Ev extends EventNamesWithError<Map>
    ? Ev
    : Ev extends EventNamesWithAck<Map>
      ? Refused<Ev, 'emitWithAck on a broadcast needs timeout(ms) first'>
      : Refused<Ev, 'this event declares no ack to wait for'>;

/**
 * The ack with the timeout error first, called `(null, ...answer)` on success. Written as a method
 * signature so its parameters compare bivariantly: a callback annotated with a subtype of `Err | null`
 * still fits, such as `(err: Error, …)` on a socket, as the official typings write it.
 */
type PrependError<F, Err> = F extends (...args: infer A) => infer R
  ? IsErrorFirst<A> extends true
    ? F
    : { ack(err: Err | null, ...args: A): R }['ack']
  : F;

/** A tuple of one element, the first of `T`, keeping its label (`[doubled: number[]]`). */
type FirstKeepingLabel<T extends unknown[]> = T extends [unknown, ...infer Rest] ? (T extends [...infer First, ...Rest] ? First : never) : never;

/** A broadcast collects each client's first answer into one array (the other arguments are dropped). */
type Collected<A extends unknown[]> = A extends []
  ? [responses: undefined[]]
  : number extends A['length']
    ? [responses: A[number][]]
    : FirstKeepingLabel<{ [K in keyof A]: A[K][] }>;

type CollectResponses<F> = F extends (...args: infer A) => infer R
  ? IsErrorFirst<A> extends true
    ? A extends [infer Err, ...infer Rest]
      ? (err: Err, ...responses: Collected<Rest>) => R
      : F
    : (...responses: Collected<A>) => R
  : F;

/** Reshapes the ack callbacks in a parameter list (a function argument is an ack: it cannot be sent). */
type DecorateParams<P extends unknown[], Mode extends Error | 'collect'> = {
  [K in keyof P]: IsAny<P[K]> extends true ? P[K] : Mode extends Error ? PrependError<P[K], Mode> : CollectResponses<P[K]>;
};

/** After timeout(): the ack receives the timeout error first (`Err`, or null when the answer came). */
export type DecorateAcknowledgements<E extends EventsMap, Err extends Error = Error> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: DecorateParams<P, Err>) => R : E[K];
};

/** On a broadcast: the ack receives one array with each client's answer. */
export type DecorateAcknowledgementsWithMultipleResponses<E extends EventsMap> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: DecorateParams<P, 'collect'>) => R : E[K];
};

/** One answer per server after a timeout, `(err, responses)`: serverSideEmit's ack, as socket.io types it. */
export type DecorateAcknowledgementsWithTimeoutAndMultipleResponses<E extends EventsMap> = DecorateAcknowledgements<
  DecorateAcknowledgementsWithMultipleResponses<E>
>;

/** A broadcast after timeout(): `(err, responses)`, where err tells who did not answer (`missing`). */
export type DecorateAcknowledgementsWithBroadcastTimeout<E extends EventsMap> = DecorateAcknowledgements<
  DecorateAcknowledgementsWithMultipleResponses<E>,
  BroadcastTimeoutError
>;

/** Names `on()` accepts: the emitter's own events and the user's. */
export type ReservedOrUserEventNames<Reserved extends EventsMap, User extends EventsMap> = EventNames<Reserved> | EventNames<User>;

/** Listener for a reserved event or a user event, falling back to untyped when neither declares it. */
export type ReservedOrUserListener<
  Reserved extends EventsMap,
  User extends EventsMap,
  Ev extends ReservedOrUserEventNames<Reserved, User>,
> = Ev extends EventNames<Reserved> ? Reserved[Ev] : Ev extends EventNames<User> ? User[Ev] : (...args: any[]) => void;
