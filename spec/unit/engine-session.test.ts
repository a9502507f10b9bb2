// EngineSocket's heartbeat on a fake transport, driven by a timer wheel on a fake clock with 1 ms ticks
// (PROTOCOL.md §1.6): the shared wheel is coarser, this one makes every deadline exact.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import pino from 'pino';
import { EnginePacketType, type EnginePacket } from '../../lib/codec/engine-packet';
import { EngineSocket } from '../../lib/engine/session';
import { Transport } from '../../lib/engine/transport';
import type { Logger } from '../../lib/logger';
import { resolveEngineOptions } from '../../lib/options';
import { TimerWheel } from '../../lib/util/timer-wheel';

/** A transport that is always writable and keeps what it was given. */
class FakeTransport extends Transport {
  readonly name = 'websocket' as const;
  readonly supportsBinary = true;
  sent: EnginePacket[] = [];
  constructor() {
    super();
    this.writable = true;
  }
  send(packets: readonly EnginePacket[]): void {
    this.sent.push(...packets);
  }
  close(onClose?: () => void): void {
    onClose?.();
    this.reportClose();
  }
}

const PING_INTERVAL = 100;
const PING_TIMEOUT = 50;

/** The fake clock: tick(ms) moves it 1 ms at a time and runs the wheel, as its interval would. */
let now = 0;
const wheel = new TimerWheel({ tick: 1, now: () => now, drive: false });
function tick(ms: number): void {
  for (let i = 0; i < ms; i++) {
    now++;
    wheel.advance();
  }
}

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
