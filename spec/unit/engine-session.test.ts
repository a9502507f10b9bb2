// EngineSocket's heartbeat on a fake transport, driven by a timer wheel on a fake clock with 1 ms ticks
// (PROTOCOL.md §1.6): the shared wheel is coarser, this one makes every deadline exact.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import pino from 'pino';
import { EnginePacketType, type EnginePacket } from '../../lib/codec/engine-packet';
import { EngineSocket } from '../../lib/engine/session';
import type { Logger } from '../../lib/logger';
import { resolveEngineOptions } from '../../lib/options';
import { FakeTransport, fakeClock } from '../support/fake-engine';

const PING_INTERVAL = 100;
const PING_TIMEOUT = 50;

const { wheel, tick } = fakeClock();

function open(t: TestContext): { session: EngineSocket; transport: FakeTransport; reasons: string[] } {
  const opts = resolveEngineOptions({ pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT, logger: pino({ level: 'silent' }) as unknown as Logger });
  const transport = new FakeTransport();
  const session = new EngineSocket('sid', transport, {} as IncomingMessage, '127.0.0.1', opts, opts.logger, { metrics: {}, wheel });
  const reasons: string[] = [];
  session.on('close', (reason) => reasons.push(reason));
  session.open();
  t.after(() => session.close(true));
  return { session, transport, reasons };
}

const message: EnginePacket = { type: EnginePacketType.MESSAGE, data: 'busy' };
const pong: EnginePacket = { type: EnginePacketType.PONG };

describe('EngineSocket heartbeat', () => {
  test('pings every pingInterval after the last pong', (t) => {
    const { session, transport, reasons } = open(t);
    const pings = (): number => transport.sent.filter((p) => p.type === EnginePacketType.PING).length;
    tick(PING_INTERVAL - 1);
    assert.equal(pings(), 0);
    tick(1);
    assert.equal(pings(), 1);
    tick(PING_TIMEOUT - 1);
    session.onTransportPacket(transport, pong);
    tick(PING_INTERVAL - 1);
    assert.equal(pings(), 1);
    tick(1);
    assert.equal(pings(), 2);
    assert.deepEqual(reasons, []);
  });

  test('closes with "ping timeout" pingTimeout after an unanswered ping', (t) => {
    const { reasons } = open(t);
    tick(PING_INTERVAL);
    tick(PING_TIMEOUT - 1);
    assert.deepEqual(reasons, []);
    tick(1);
    assert.deepEqual(reasons, ['ping timeout']);
  });

  test('restarts the pong wait once per ping on another packet, as engine.io 6.6 does', (t) => {
    const { session, transport, reasons } = open(t);
    tick(PING_INTERVAL);
    tick(PING_TIMEOUT - 1);
    session.onTransportPacket(transport, message); // restarts the wait
    tick(PING_TIMEOUT - 1);
    session.onTransportPacket(transport, message); // only once per ping
    assert.deepEqual(reasons, []);
    tick(1);
    assert.deepEqual(reasons, ['ping timeout']);
  });

  test('does not restart anything for packets between pings', (t) => {
    const { session, transport, reasons } = open(t);
    tick(PING_INTERVAL - 1);
    session.onTransportPacket(transport, message);
    tick(1);
    tick(PING_TIMEOUT);
    assert.deepEqual(reasons, ['ping timeout']);
  });
});
