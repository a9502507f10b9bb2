// Typed event maps: the four generics of socket.io (client→server, server→client, inter-server, socket.data).
/* eslint-disable @typescript-eslint/no-explicit-any -- listener maps need `any` for parameter bivariance */

/** A map of event names to listener signatures. */
export interface EventsMap {
  [event: string]: any;
}

/** What an untyped server uses: any event, any arguments. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}

export type EventNames<Map extends EventsMap> = keyof Map & (string | symbol);
export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>;

type IsAny<T> = 0 extends 1 & T ? true : false;

/** The last element of a tuple (the ack callback, when there is one). */
export type Last<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L]
  ? L
  : T extends ReadonlyArray<infer E>
    ? E
    : never;

/** A tuple without its last element. */
export type AllButLast<T extends readonly unknown[]> = T extends readonly [...infer Head, unknown] ? Head : unknown[];

/** The ack callback's parameters, minus a leading Error (the timeout one) if the map declares it. */
type AckParams<F> = F extends (...args: infer P) => any ? (P extends [Error, ...infer Rest] ? Rest : P) : never;

/** The value emitWithAck resolves with: the first argument of the ack that is not the error. */
export type AckResult<F> = IsAny<F> extends true ? any : AckParams<F> extends [infer First, ...unknown[]] ? First : void;

/** Events whose last parameter is an ack callback. */
export type EventNamesWithAck<Map extends EventsMap> = {
  [K in EventNames<Map>]: IsAny<Map[K]> extends true
    ? K
    : Parameters<Map[K]> extends []
      ? never
      : Last<Parameters<Map[K]>> extends (...args: any[]) => any
        ? K
        : never;
}[EventNames<Map>];

/** emitWithAck(ev, ...args): the event's arguments without the callback; resolves with the ack's value. */
export type EmitWithAckArgs<Map extends EventsMap, Ev extends EventNames<Map>> = IsAny<Map[Ev]> extends true
  ? any[]
  : AllButLast<Parameters<Map[Ev]>>;
export type EmitWithAckResult<Map extends EventsMap, Ev extends EventNames<Map>> = IsAny<Map[Ev]> extends true
  ? any
  : AckResult<Last<Parameters<Map[Ev]>>>;

/** With timeout(): the ack callback receives an Error first (unless the map already declares one). */
type WithTimeoutError<P extends unknown[]> = {
  [K in keyof P]: P[K] extends (...args: infer A) => infer R ? (A extends [Error, ...unknown[]] ? P[K] : (err: Error | null, ...args: A) => R) : P[K];
};

/** A broadcast collects one answer per client: every ack argument becomes an array. */
type Multiplied<A extends unknown[]> = { [K in keyof A]: A[K][] };
type WithMultipleResponses<P extends unknown[]> = {
  [K in keyof P]: P[K] extends (...args: infer A) => infer R
    ? A extends [Error, ...infer Rest]
      ? (err: Error | null, ...args: Multiplied<Rest>) => R
      : (...args: Multiplied<A>) => R
    : P[K];
};

export type DecorateAcknowledgements<E extends EventsMap> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: WithTimeoutError<P>) => R : E[K];
};
export type DecorateAcknowledgementsWithMultipleResponses<E extends EventsMap> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: WithMultipleResponses<P>) => R : E[K];
};
export type DecorateAcknowledgementsWithTimeoutAndMultipleResponses<E extends EventsMap> = {
  [K in keyof E]: E[K] extends (...args: infer P) => infer R ? (...args: WithMultipleResponses<WithTimeoutError<P>>) => R : E[K];
};

/** Events without an ack: the only ones a broadcast may emit without timeout(). */
export type RemoveAcknowledgements<E extends EventsMap> = {
  [K in EventNames<E> as IsAny<E[K]> extends true ? K : K extends EventNamesWithAck<E> ? never : K]: E[K];
};

/** Listener for a reserved event or a user event, falling back to untyped when neither declares it. */
export type ReservedOrUserListener<Reserved extends EventsMap, User extends EventsMap, Ev extends EventNames<Reserved> | EventNames<User>> =
  Ev extends EventNames<Reserved> ? Reserved[Ev] : Ev extends EventNames<User> ? User[Ev] : (...args: any[]) => void;
