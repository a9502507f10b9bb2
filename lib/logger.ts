// The slice of pino the package uses, and the default logger: pino at `warn`.
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
