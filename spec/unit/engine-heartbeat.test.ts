// Confirmation pings (lib/engine/heartbeat.ts) on a fake transport, with the heartbeat on a fake clock of 1 ms ticks.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test, type TestContext } from 'node:test';
import pino from 'pino';
import { EnginePacketType, type EnginePacket } from '../../lib/codec/engine-packet';
import { CONFIRM_AFTER_BYTES, CONFIRM_AFTER_MESSAGES, CONFIRM_AFTER_OWN_MESSAGES } from '../../lib/engine/heartbeat';
import { EngineSocket } from '../../lib/engine/session';
import type { Logger } from '../../lib/logger';
import { resolveEngineOptions, type EngineOptions } from '../../lib/options';
import { FakeTransport, fakeClock } from '../support/fake-engine';

const PING_INTERVAL = 100;
const PING_TIMEOUT = 50;

const { wheel, tick, now } = fakeClock();

interface Opened {
  session: EngineSocket;
  transport: FakeTransport;
  reasons: string[];
  confirms: number[];
  heartbeats: number[];
  pings: () => number;
}

function open(t: TestContext, name: 'websocket' | 'polling' = 'websocket', extra: Partial<EngineOptions> = {}): Opened {
  const opts = resolveEngineOptions({ pingInterval: PING_INTERVAL, pingTimeout: PING_TIMEOUT, logger: pino({ level: 'silent' }) as unknown as Logger, ...extra });
  const transport = new FakeTransport(name);
  const session = new EngineSocket('sid', transport, {} as IncomingMessage, '127.0.0.1', opts, opts.logger, { metrics: {}, wheel });
  const reasons: string[] = [];
  const confirms: number[] = [];
  const heartbeats: number[] = [];
  session.on('close', (reason) => reasons.push(reason));
  session.on('confirm', (mark) => confirms.push(mark));
  session.on('heartbeat', () => heartbeats.push(now()));
  session.open();
  t.after(() => session.close(true));
  const pings = (): number => transport.sent.filter((p) => p.type === EnginePacketType.PING).length;
  return { session, transport, reasons, confirms, heartbeats, pings };
}

const pong: EnginePacket = { type: EnginePacketType.PONG };
const message = (n: number): EnginePacket => ({ type: EnginePacketType.MESSAGE, data: `m${n}` });

/** Sends `count` one-message packets, shared with other sessions (a broadcast's) unless `shared` is false. */
function sendMessages(session: EngineSocket, count: number, shared = true): void {
  for (let n = 0; n < count; n++) session.sendPackets([message(n)], 2, shared);
}

describe('confirmation pings', () => {
  test('pings once the unconfirmed messages reach the threshold, after them, and not before', (t) => {
    const { session, transport, pings } = open(t);
    sendMessages(session, CONFIRM_AFTER_MESSAGES - 1);
    assert.equal(pings(), 0);
    sendMessages(session, 1);
    assert.equal(pings(), 1);
    // the ping follows every message it confirms
    assert.equal(transport.sent.at(-1)?.type, EnginePacketType.PING);
  });

  test('pings sooner for messages of the session\'s own (direct emits, acks: their records live in its log alone)', (t) => {
    const { session, pings } = open(t);
    sendMessages(session, CONFIRM_AFTER_OWN_MESSAGES - 1, false);
    sendMessages(session, 10, true);
    assert.equal(pings(), 0);
    session.send('own');
    assert.equal(pings(), 1);
  });

  test('pings once the unconfirmed bytes reach the threshold', (t) => {
    const { session, pings } = open(t);
    session.sendPackets([message(0)], CONFIRM_AFTER_BYTES - 1, true);
    assert.equal(pings(), 0);
    session.send('x');
    assert.equal(pings(), 1);
  });

  test('keeps at most one ping outstanding; its pong confirms what was queued before it', (t) => {
    const { session, transport, pings, confirms, heartbeats } = open(t);
    sendMessages(session, CONFIRM_AFTER_MESSAGES * 3);
    assert.equal(pings(), 1);
    session.onTransportPacket(transport, pong);
    assert.deepEqual(confirms, [CONFIRM_AFTER_MESSAGES]);
    // a confirmation is not a heartbeat
    assert.deepEqual(heartbeats, []);
    // what came while the first ping was out is over the threshold: asked again at once
    assert.equal(pings(), 2);
    session.onTransportPacket(transport, pong);
    assert.deepEqual(confirms, [CONFIRM_AFTER_MESSAGES, CONFIRM_AFTER_MESSAGES * 3]);
    // below the threshold again: nothing more until it is reached
    sendMessages(session, CONFIRM_AFTER_MESSAGES - 1);
    assert.equal(pings(), 2);
  });

  test('sends none on polling, where each GET confirms', (t) => {
    const { session, pings } = open(t, 'polling');
    sendMessages(session, CONFIRM_AFTER_MESSAGES * 2);
    sendMessages(session, CONFIRM_AFTER_OWN_MESSAGES * 2, false);
    session.sendPackets([message(0)], CONFIRM_AFTER_BYTES);
    session.send('own');
    assert.equal(pings(), 0);
  });

  test('sends none when nobody listens for confirmations (no replay log to trim)', (t) => {
    const { session, pings } = open(t);
    session.removeAllListeners('confirm');
    sendMessages(session, CONFIRM_AFTER_MESSAGES * 3);
    sendMessages(session, CONFIRM_AFTER_OWN_MESSAGES * 3, false);
    assert.equal(pings(), 0);
  });

  test('leaves the heartbeat schedule alone: the first heartbeat ping still comes pingInterval after the open', (t) => {
    const { session, transport, pings, reasons } = open(t);
    tick(10);
    sendMessages(session, CONFIRM_AFTER_MESSAGES);
    session.onTransportPacket(transport, pong);
    tick(PING_INTERVAL - 11);
    assert.equal(pings(), 1);
    tick(1);
    assert.equal(pings(), 2);
    tick(PING_TIMEOUT - 1);
    session.onTransportPacket(transport, pong);
    tick(PING_INTERVAL - 1);
    assert.equal(pings(), 2);
    tick(1);
    assert.equal(pings(), 3);
    assert.deepEqual(reasons, []);
  });

  test('an unanswered confirmation ping stands in for the heartbeat ping: closed pingInterval + pingTimeout after the open', (t) => {
    const { session, pings, reasons } = open(t);
    tick(10);
    sendMessages(session, CONFIRM_AFTER_MESSAGES * 4);
    tick(PING_INTERVAL - 10);
    // no second ping while one is unanswered
    assert.equal(pings(), 1);
    tick(PING_TIMEOUT - 1);
    assert.deepEqual(reasons, []);
    tick(1);
    assert.deepEqual(reasons, ['ping timeout']);
  });

  test('the late pong of a stand-in counts as the heartbeat pong and re-arms the interval', (t) => {
    const { session, transport, pings, reasons, heartbeats, confirms } = open(t);
    sendMessages(session, CONFIRM_AFTER_MESSAGES);
    tick(PING_INTERVAL + PING_TIMEOUT - 1);
    session.onTransportPacket(transport, pong);
    assert.equal(heartbeats.length, 1);
    assert.deepEqual(confirms, [CONFIRM_AFTER_MESSAGES]);
    tick(PING_INTERVAL - 1);
    assert.equal(pings(), 1);
    tick(1);
    assert.equal(pings(), 2);
    assert.deepEqual(reasons, []);
  });

  test('ignores a pong nobody asked for: it confirms nothing and keeps the heartbeat on time', (t) => {
    const { session, transport, pings, confirms, heartbeats } = open(t);
    sendMessages(session, CONFIRM_AFTER_MESSAGES - 1);
    tick(PING_INTERVAL - 1);
    session.onTransportPacket(transport, pong);
    assert.deepEqual(confirms, []);
    assert.deepEqual(heartbeats, []);
    tick(1);
    assert.equal(pings(), 1);
  });

  test('does not charge the pongs it asked for to the inbound budget', (t) => {
    const { session, transport, reasons, confirms } = open(t, 'websocket', { inboundRate: { packetsPerSecond: 1, bytesPerSecond: 1000 } });
    // the budget holds 2 packets; 5 answered pings in the same millisecond would exceed it
    for (let n = 1; n <= 5; n++) {
      sendMessages(session, CONFIRM_AFTER_MESSAGES);
      session.onTransportPacket(transport, pong);
    }
    assert.equal(confirms.length, 5);
    assert.deepEqual(reasons, []);
    // an unasked pong is charged as before
    for (let n = 0; n < 3; n++) session.onTransportPacket(transport, pong);
    assert.deepEqual(reasons, ['rate limited']);
  });
});
