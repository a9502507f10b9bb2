// The slice of pino the package uses, the default logger (pino at `warn`), and lazily built child loggers.
import pino from 'pino';

type LogFn = (obj: object | string, msg?: string) => void;

/** Anything with pino's level methods and `child` works as a logger. */
export interface Logger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled?(level: string): boolean;
}

/** The default: a pino logger at `warn`, so operators see refusals and faults and nothing chatty. */
export function createDefaultLogger(name: string): Logger {
  return pino({ name, level: 'warn' }) as unknown as Logger;
}

/** True when `level` would be written; loggers without `isLevelEnabled` are asked nothing and say yes. */
export function isLevelEnabled(log: Logger, level: string): boolean {
  return log.isLevelEnabled ? log.isLevelEnabled(level) : true;
}

/**
 * A child logger built on its first written line: a connection that never logs (most of them, at the
 * default `warn`) costs this small object instead of a pino child with its bindings string. Lines of a
 * disabled level build nothing. The level is the parent's until the child exists, as with pino.
 */
export class LazyChildLogger implements Logger {
  private readonly parent: Logger;
  private readonly bindings: Record<string, unknown>;
  private built: Logger | undefined = undefined;

  constructor(parent: Logger, bindings: Record<string, unknown>) {
    this.parent = parent;
    this.bindings = bindings;
  }

  private write(level: 'error' | 'warn' | 'info' | 'debug' | 'trace', obj: object | string, msg?: string): void {
    if (!this.built && !isLevelEnabled(this.parent, level)) return;
    const log = this.resolve();
    // the arguments as given: a pino format string must not see an extra undefined
    if (msg === undefined) log[level](obj);
    else log[level](obj, msg);
  }

  /** The real child logger (a lazy parent is built first), made now if it was not. */
  resolve(): Logger {
    if (!this.built) {
      const parent = this.parent instanceof LazyChildLogger ? this.parent.resolve() : this.parent;
      this.built = parent.child(this.bindings);
    }
    return this.built;
  }

  error(obj: object | string, msg?: string): void {
    this.write('error', obj, msg);
  }

  warn(obj: object | string, msg?: string): void {
    this.write('warn', obj, msg);
  }

  info(obj: object | string, msg?: string): void {
    this.write('info', obj, msg);
  }

  debug(obj: object | string, msg?: string): void {
    this.write('debug', obj, msg);
  }

  trace(obj: object | string, msg?: string): void {
    this.write('trace', obj, msg);
  }

  /** A lazy child of this one: built (with this one) on its first written line. */
  child(bindings: Record<string, unknown>): Logger {
    return new LazyChildLogger(this, bindings);
  }

  isLevelEnabled(level: string): boolean {
    return isLevelEnabled(this.built ?? this.parent, level);
  }
}
