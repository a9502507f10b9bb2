// One runner for io.use and socket.use (fastify's): index-based next(err), sync throws caught, promises followed.

export type Next = (err?: Error) => void;

/** Runs `fns` in order with `(…args, next)`; `done(err?)` once, after the last or at the first error. */
export function runMiddlewares<A extends unknown[]>(
  fns: ReadonlyArray<(...args: [...A, Next]) => unknown>,
  args: A,
  done: (err?: Error) => void,
): void {
  if (fns.length === 0) {
    done();
    return;
  }
  let index = 0;
  let finished = false;
  const finish = (err?: Error): void => {
    if (finished) return;
    finished = true;
    done(err);
  };
  const step = (err?: Error): void => {
    if (finished) return;
    if (err) {
      finish(toError(err));
      return;
    }
    if (index === fns.length) {
      finish();
      return;
    }
    const fn = fns[index++];
    let called = false;
    const next: Next = (e) => {
      if (called) return;
      called = true;
      step(e);
    };
    try {
      const result = fn(...args, next);
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(undefined, (e: unknown) => next(toError(e)));
      }
    } catch (e) {
      next(toError(e));
    }
  };
  step();
}

function toError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}
