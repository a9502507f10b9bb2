// Confirmation pings over WebSocket (lib/engine/heartbeat.ts): the replay log is confirmed under traffic long
// before pingInterval, recovery across a cut between such a ping and its pong, no extra ping below the
// threshold, and the heartbeat still ends a client that answers nothing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { CONFIRM_AFTER_MESSAGES, CONFIRM_AFTER_OWN_MESSAGES } from '../../lib/engine/heartbeat';
import { connectIo, serverSocketOf, startIo, type ServerSocket } from '../support/io';
import { marker, rawSocketIo, recoveringPair, startRecoveryIo } from '../support/recovery';
import { collect, once, within } from '../support/wait';

const WS = ['websocket'] as const;
/** Packets sent in the tests: several times the threshold. */
const COUNT = 500;

/** Resolves with the next socket the main namespace accepts. */
function nextConnection(io: { sockets: { once(ev: 'connection', fn: (s: ServerSocket) => void): unknown } }): Promise<ServerSocket> {
  return within(new Promise((resolve) => io.sockets.once('connection', resolve)), 3000, 'the connection');
}

describe('confirmation pings over WebSocket', () => {
  test('confirm the replay log under sustained traffic long before pingInterval (official client)', async (t) => {
    // no heartbeat ping during the test: only confirmation pings can confirm anything
    const server = await startRecoveryIo(t, { pingInterval: 60000, pingTimeout: 60000 });
    const client = await connectIo(t, server.url, WS);
    const socket = serverSocketOf(server.io, client);
    const heartbeats: number[] = [];
    socket.conn.on('heartbeat', () => heartbeats.push(1));
    const got: number[] = [];
    client.on('b', (n: number) => got.push(n));
    // broadcasts: the higher threshold (a shared packet costs each log a slot, not a record of its own)
    for (let n = 1; n <= COUNT; n++) server.io.emit('b', n);
    await marker(client, socket);
    assert.equal(got.length, COUNT);
    const outbox = socket.client.outbox;
    assert.ok(outbox);
    // each pong confirms what was queued before its ping; bounded: COUNT / threshold pings at most
    for (let i = 0; i < COUNT / CONFIRM_AFTER_MESSAGES + 2 && outbox.packets >= CONFIRM_AFTER_MESSAGES; i++) await once(socket.conn, 'confirm');
    assert.ok(outbox.packets < CONFIRM_AFTER_MESSAGES, `${outbox.packets} packets unconfirmed`);
    assert.ok(socket.conn.confirmedMessages >= COUNT - CONFIRM_AFTER_MESSAGES);
    assert.deepEqual(heartbeats, []);
  });

  test('recovery replays exactly the missed packets when the link drops between a confirmation ping and its pong', async (t) => {
    const server = await startRecoveryIo(t, { pingInterval: 60000, pingTimeout: 60000 });
    const { client, socket } = await recoveringPair(t, server, WS);
    // direct emits: a ping after the first CONFIRM_AFTER_OWN_MESSAGES
    const got: number[] = [];
    client.on('b', (n: number) => got.push(n));
    let dropped = false;
    let readBefore = 0;
    // the client reads the ping before it answers: the link is cut there, so the pong never reaches the server
    client.io.engine.on('packet', (packet: { type: string }) => {
      if (dropped) return;
      if (packet.type === 'message') readBefore++;
      if (packet.type !== 'ping') return;
      dropped = true;
      server.proxy.drop();
    });
    const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
    for (let n = 1; n <= COUNT; n++) socket.emit('b', n);
    await back;
    assert.equal(dropped, true);
    // the client had read the packets the ping confirms (not all): the replay must skip exactly those it saw
    assert.ok(readBefore > 0 && readBefore < COUNT, `${readBefore} read before the ping`);
    assert.equal(client.recovered, true);
    await marker(client, socket);
    assert.deepEqual(
      got,
      Array.from({ length: COUNT }, (_, i) => i + 1),
    );
  });

  test('send no ping beyond the heartbeat while traffic stays below the threshold', async (t) => {
    const server = await startRecoveryIo(t, { pingInterval: 50, pingTimeout: 2000 });
    const accepted = nextConnection(server.io);
    const raw = await rawSocketIo(t, server.port);
    raw.send('40');
    await raw.next((m) => m.startsWith('40{'), 'the CONNECT reply');
    const socket = await accepted;
    const HEARTBEATS = 4;
    // a few direct emits per interval: HEARTBEATS * 3 stays below the lower threshold
    socket.conn.on('heartbeat', () => {
      for (let n = 0; n < 3; n++) socket.emit('tick', n);
    });
    await collect(socket.conn, 'heartbeat', HEARTBEATS);
    // the server sends the next ping pingInterval after this pong: the client has seen exactly one per heartbeat
    assert.equal(raw.messages.filter((m) => m === '2').length, HEARTBEATS);
    assert.ok(3 * HEARTBEATS < CONFIRM_AFTER_OWN_MESSAGES);
  });

  test('send none with recovery off: there is no replay log to confirm', async (t) => {
    const server = await startIo(t, { reconnectTimeout: 0, pingInterval: 60000, pingTimeout: 60000 });
    const accepted = nextConnection(server.io);
    const raw = await rawSocketIo(t, server.port);
    raw.send('40');
    await raw.next((m) => m.startsWith('40{'), 'the CONNECT reply');
    const socket = await accepted;
    for (let n = 1; n <= CONFIRM_AFTER_MESSAGES * 2; n++) socket.emit('b', n);
    server.io.emit('b', 0);
    socket.emit('marker');
    await raw.next((m) => m === '42["marker"]', 'the marker');
    assert.equal(raw.messages.filter((m) => m === '2').length, 0);
  });

  test('the heartbeat closes a client that answers no ping, confirmation pings included', async (t) => {
    const server = await startRecoveryIo(t, { pingInterval: 100, pingTimeout: 100 });
    const accepted = nextConnection(server.io);
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
    t.after(() => ws.terminate());
    const messages: string[] = [];
    ws.on('message', (data) => {
      const text = String(data);
      messages.push(text);
      if (text.startsWith('0{')) ws.send('40');
    });
    const socket = await accepted;
    const closed = once<[string]>(socket.conn, 'close');
    // over the threshold at once: a confirmation ping goes out, never answered
    for (let n = 1; n <= CONFIRM_AFTER_MESSAGES * 2; n++) socket.emit('b', n);
    const [reason] = await closed;
    assert.equal(reason, 'ping timeout');
    // the unanswered confirmation ping stood in for the heartbeat's: no second one was sent
    assert.equal(messages.filter((m) => m === '2').length, 1);
  });
});
