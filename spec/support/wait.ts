// Bounded waits: an event armed before the action, failing after a deadline instead of hanging.

export const DEFAULT_WAIT_MS = 3000;

/* eslint-disable @typescript-eslint/no-explicit-any -- any emitter shape (node, engine.io-client, socket.io-client) */
type Listener = (...args: any[]) => void;
interface Emitterish {
  once(event: any, listener: Listener): unknown;
  on(event: any, listener: Listener): unknown;
  off?(event: any, listener?: Listener): unknown;
  removeListener?(event: any, listener: Listener): unknown;
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Resolves with the event's arguments, rejects after `ms`. */
export function once<T extends unknown[] = unknown[]>(emitter: Emitterish, event: string, ms = DEFAULT_WAIT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const e = emitter as Emitterish;
    const listener = (...args: unknown[]): void => {
      clearTimeout(timer);
      resolve(args as T);
    };
    const timer = setTimeout(() => {
      (e.off ?? e.removeListener)?.call(e, event, listener);
      reject(new Error(`timed out after ${ms} ms waiting for "${event}"`));
    }, ms);
    e.once(event, listener);
  });
}

/** Rejects if `promise` has not settled after `ms`. */
export function within<T>(promise: Promise<T>, ms = DEFAULT_WAIT_MS, what = 'operation'): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

/** Collects `count` emissions of an event. */
export function collect<T = unknown>(emitter: Emitterish, event: string, count: number, ms = DEFAULT_WAIT_MS): Promise<T[]> {
  return within(
    new Promise<T[]>((resolve) => {
      const got: T[] = [];
      emitter.on(event, (value: unknown) => {
        got.push(value as T);
        if (got.length === count) resolve(got);
      });
    }),
    ms,
    `${count} "${event}" events`,
  );
}
