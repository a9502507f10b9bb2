// LazyChildLogger: no pino child until a line is written, then the same lines a pino child writes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LazyChildLogger, type Logger } from '../../lib/logger';
import { logSink } from '../support/logs';

/** Counts the children made of `log`. */
function counting(log: Logger): { log: Logger; children: () => number } {
  let children = 0;
  const wrapped: Logger = Object.create(log as object) as Logger;
  wrapped.child = (bindings) => {
    children++;
    return log.child(bindings);
  };
  return { log: wrapped, children: () => children };
}

describe('LazyChildLogger', () => {
  test('makes no child for lines of a disabled level, and one child for any number of written lines', () => {
    const sink = logSink('info');
    const parent = counting(sink.logger);
    const log = new LazyChildLogger(parent.log, { sid: 'abc', transport: 'websocket' });
    log.debug('session opened');
    log.trace({ packets: 1 }, 'flush');
    assert.equal(parent.children(), 0);
    assert.equal(log.isLevelEnabled('debug'), false);
    assert.equal(log.isLevelEnabled('warn'), true);
    log.warn({ code: 'ERR_RATE_LIMITED' }, 'closing session');
    log.info('again');
    assert.equal(parent.children(), 1);
    assert.equal(sink.lines.length, 2);
    assert.equal(sink.lines[0].sid, 'abc');
    assert.equal(sink.lines[0].transport, 'websocket');
    assert.equal(sink.lines[0].code, 'ERR_RATE_LIMITED');
    assert.equal(sink.lines[0].msg, 'closing session');
    assert.equal(sink.lines[1].msg, 'again');
  });

  test('a child of a lazy child carries both bindings, and builds each logger once', () => {
    const sink = logSink('debug');
    const parent = counting(sink.logger);
    const session = new LazyChildLogger(parent.log, { sid: 'abc' });
    const socket = session.child({ nsp: '/chat' });
    const upgraded = session.child({ transport: 'websocket' });
    assert.equal(parent.children(), 0);
    socket.debug({ event: 'x' }, 'one');
    socket.error('two');
    upgraded.debug('three');
    session.debug('four');
    assert.equal(parent.children(), 1);
    assert.deepEqual(
      sink.lines.map((l) => [l.msg, l.sid, l.nsp, l.transport]),
      [
        ['one', 'abc', '/chat', undefined],
        ['two', 'abc', '/chat', undefined],
        ['three', 'abc', undefined, 'websocket'],
        ['four', 'abc', undefined, undefined],
      ],
    );
  });

  test('passes a format string and its arguments as given', () => {
    const sink = logSink('debug');
    const log = new LazyChildLogger(sink.logger, { sid: 'abc' });
    log.info('plain %s');
    assert.equal(sink.lines[0].msg, 'plain %s');
  });
});
