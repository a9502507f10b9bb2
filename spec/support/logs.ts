// A pino logger writing into an array, to assert on logged fields.
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Logger } from '../../lib/logger';

export interface LogSink {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
  /** Lines whose `code` field equals `code`. */
  withCode(code: string): Array<Record<string, unknown>>;
}

export function logSink(level = 'debug'): LogSink {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const logger = pino({ level }, stream) as unknown as Logger;
  return { logger, lines, withCode: (code) => lines.filter((l) => l.code === code) };
}
