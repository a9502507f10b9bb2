// Calls into app code that no emitter guards (ack callbacks, catch-all listeners): faults are logged, never thrown.
import type { Logger } from '../logger';

/**
 * Calls `fn` with `args`; a throw, or the rejection of the promise it returns (async callbacks), is
 * logged at error and goes no further: not into the transport, not to process 'unhandledRejection'.
 */
export function callApp(log: Logger, thisArg: unknown, fn: (...args: never[]) => unknown, args: unknown[], what: string): void {
  let result: unknown;
  try {
    result = (fn as (...a: unknown[]) => unknown).apply(thisArg, args);
  } catch (err) {
    log.error({ err }, `${what} threw`);
    return;
  }
  // the closure exists only for async callbacks, not per packet
  if (isThenable(result)) result.then(undefined, (err: unknown) => log.error({ err }, `${what} rejected`));
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}
