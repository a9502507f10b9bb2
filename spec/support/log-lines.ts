// A pino destination that keeps every line and lets a test wait (bounded) for the line it expects.
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import pino from 'pino';
import { within } from './wait';

export type LogLine = Record<string, unknown>;

export interface LineSink {
  /** A pino logger writing here (pino's own type, for pino-http's `logger` option). */
  logger: pino.Logger;
  lines: LogLine[];
  /** Resolves with the first line, logged already or later, that `match` accepts. */
  waitFor(match: (line: LogLine) => boolean, ms?: number, what?: string): Promise<LogLine>;
}

export function lineSink(level = 'info'): LineSink {
  const lines: LogLine[] = [];
  const events = new EventEmitter();
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString('utf8').split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as LogLine;
        lines.push(line);
        events.emit('line', line);
      }
      cb();
    },
  });
  const waitFor = (match: (line: LogLine) => boolean, ms = 3000, what = 'a matching log line'): Promise<LogLine> => {
    const found = lines.find(match);
    if (found) return Promise.resolve(found);
    let listener!: (line: LogLine) => void;
    return within(
      new Promise<LogLine>((resolve) => {
        listener = (line) => {
          if (match(line)) resolve(line);
        };
        events.on('line', listener);
      }),
      ms,
      what,
    ).finally(() => events.removeListener('line', listener));
  };
  return { logger: pino({ level }, stream), lines, waitFor };
}
