// Cluster-wide requests bounded by their timeout: an adapter waiting on a Redis that is away must not leave the caller hanging (#9).
import type { BroadcastFlags } from '../adapter/adapter';

/** socket.io-adapter's timeout for requests between nodes when none is configured (ms). */
export const DEFAULT_REQUESTS_TIMEOUT = 5000;

/**
 * The official adapters start their own request timer only once `serverCount()` has answered, and that
 * question goes to Redis: with Redis away it waits for the reconnection (the clients' offline queue), or
 * fails and the adapter swallows the error without calling back. Our own timer starts with the call and
 * fires this long after the adapter's would, so that a working adapter reports first, partial answers included.
 */
const GRACE_MS = 100;

/**
 * How long a request may take: the operator's `timeout(ms)`, else the adapter's `requestsTimeout`
 * (the classic Redis adapter's option), else socket.io-adapter's 5 s.
 */
export function requestTimeout(adapter: object, flags?: BroadcastFlags): number {
  if (flags?.timeout !== undefined) return flags.timeout;
  const configured = (adapter as { requestsTimeout?: unknown }).requestsTimeout;
  return typeof configured === 'number' && configured > 0 ? configured : DEFAULT_REQUESTS_TIMEOUT;
}

/** `promise`, or a rejection with `message` once `ms` (plus the grace) have passed without it settling. */
export function bounded<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms + GRACE_MS);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/**
 * Wraps an `(err, responses)` callback for an adapter: it is called once, by the adapter or, when the
 * adapter has not called it `ms` (plus the grace) after now, with an error and no responses. `fail`
 * reports an adapter's own failure (a rejected promise) the same way.
 */
export function boundedCallback(
  callback: (err: Error | null, responses: unknown[]) => void,
  ms: number,
  message: string,
): { callback: (err: Error | null, responses: unknown[]) => void; fail: (err: unknown) => void } {
  let done = false;
  const settle = (err: Error | null, responses: unknown[]): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    callback(err, responses);
  };
  const timer = setTimeout(() => settle(new Error(message), []), ms + GRACE_MS);
  return {
    callback: settle,
    fail: (err) => settle(err instanceof Error ? err : new Error(String(err)), []),
  };
}
