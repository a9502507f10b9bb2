// Mixes an object's API into a function, as express mixes an emitter into `app`.

/**
 * Copies every method of `target` (own prototype chain, EventEmitter included) onto `fn` as a
 * forwarder, and every own field as an accessor; a method returning `target` returns `fn` instead.
 */
export function mixin<F extends object, T extends object>(fn: F, target: T): F & T {
  const seen = new Set<PropertyKey>(['constructor']);
  const define = (key: PropertyKey, descriptor: PropertyDescriptor): void => {
    if (seen.has(key) || key in Function.prototype) return;
    seen.add(key);
    Object.defineProperty(fn, key, { ...descriptor, configurable: true, enumerable: false });
  };
  for (const key of Reflect.ownKeys(target)) {
    define(key, {
      get: () => (target as Record<PropertyKey, unknown>)[key],
      set: (value: unknown) => {
        (target as Record<PropertyKey, unknown>)[key] = value;
      },
    });
  }
  for (let proto = Object.getPrototypeOf(target); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const key of Reflect.ownKeys(proto)) {
      const desc = Object.getOwnPropertyDescriptor(proto, key) as PropertyDescriptor;
      if (typeof desc.value === 'function') {
        const method = desc.value as (...args: unknown[]) => unknown;
        define(key, {
          value(...args: unknown[]) {
            const result = method.apply(target, args);
            return result === target ? fn : result;
          },
        });
      } else if (desc.get || desc.set) {
        define(key, {
          get: desc.get ? () => (desc.get as () => unknown).call(target) : undefined,
          set: desc.set ? (v: unknown) => (desc.set as (v: unknown) => void).call(target, v) : undefined,
        });
      }
    }
  }
  return fn as F & T;
}
