// What a session does while its client is away and how each recovery ends: queued and volatile emits,
// room broadcasts, expiry after reconnectTimeout, recovery off, and the outcomes counted in io.metrics
// and logged (recovered, unknown session, gap).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectIo, serverSocketOf, startIo, TRANSPORT_SETS, until, type ClientSocket, type ServerSocket } from '../support/io';
import { logSink } from '../support/logs';
import { handshake, request } from '../support/raw-http';
import type { SessionState, SessionStore } from '../../lib/index';
import { dropAndRecover, linkUp, marker, rawSocketIo, RECONNECTING, recoveringPair, startRecoveryIo, type RawSocketIo, type RecoveryApp } from '../support/recovery';
import { startProxy } from '../support/tcp-proxy';
import { collect, once, within } from '../support/wait';

const NO_OUTCOMES = { recovered: 0, expired: 0, unknownSession: 0, gap: 0, queueRefused: 0, slowConsumer: 0 };

/** Every event a client receives (but markers) with its first argument, in order. */
function received(client: ClientSocket): Array<[string, unknown]> {
  const got: Array<[string, unknown]> = [];
  client.onAny((ev: string, first: unknown) => {
    if (ev !== 'marker') got.push([ev, first]);
  });
  return got;
}

/** The client's recovery credential (socket.io-client keeps it private). */
function pidOf(client: ClientSocket): string | undefined {
  return (client as unknown as { _pid?: string })._pid;
}

/** A marker event through a raw client: what was sent before it has been handled. */
async function marker2(raw: RawSocketIo, socket: ServerSocket): Promise<void> {
  const got = new Promise<void>((resolve) => socket.once('marker', () => resolve()));
  raw.send('42["marker"]');
  await within(got, 2000, 'the marker');
}

/** Resolves with the next socket the namespace accepts. */
function nextConnection(server: { io: { sockets: { once(ev: 'connection', fn: (s: ServerSocket) => void): unknown } } }): Promise<ServerSocket> {
  return new Promise((resolve) => server.io.sockets.once('connection', resolve));
}

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io recovery outcomes over ${name}`, () => {
    test('queues emits while the client is away, drops volatile ones, and delivers a room broadcast once on return', async (t) => {
      const server = await startRecoveryIo(t);
      server.io.on('connection', (socket) => void socket.join('room'));
      const { client, socket } = await recoveringPair(t, server, transports);
      // another member of the room, connected straight to the server: not affected by the proxy
      const neighbour = await connectIo(t, server.url, transports);
      const got = received(client);
      const neighbourGot = received(neighbour);
      await linkUp(server.proxy, socket);
      const away = once(socket, 'interrupted');
      server.proxy.cut();
      await away;
      assert.equal(socket.interrupted, true);
      assert.equal(socket.connected, true);
      assert.ok(socket.rooms.has('room'));
      assert.equal(server.io.sockets.sockets.get(socket.id), socket);

      assert.equal(socket.emit('a', 1), true);
      socket.volatile.emit('v', 2);
      const neighbourHasIt = once(neighbour, 'b');
      server.io.to('room').emit('b', 3);
      await neighbourHasIt;
      server.io.volatile.emit('v', 4);
      socket.emit('a', 5);

      const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
      server.proxy.heal();
      await back;
      assert.equal(client.recovered, true);
      assert.equal(socket.interrupted, false);
      await marker(client, socket);
      assert.deepEqual(got, [
        ['a', 1],
        ['b', 3],
        ['a', 5],
      ]);
      // the neighbour got the broadcast at once (and the volatile one if its transport could take it)
      assert.deepEqual(
        neighbourGot.filter(([ev]) => ev === 'b'),
        [['b', 3]],
      );
    });

    for (const [how, end] of [
      ['socket.disconnect(true)', (_server: RecoveryApp, socket: ServerSocket) => socket.disconnect(true)],
      ['socket.disconnect()', (_server: RecoveryApp, socket: ServerSocket) => socket.disconnect()],
      ['io.disconnectSockets(true)', (server: RecoveryApp) => server.io.disconnectSockets(true)],
    ] as const) {
      test(`ends an interrupted session at once on ${how}: the client's return gets a fresh session`, async (t) => {
        const server = await startRecoveryIo(t);
        const { client, socket } = await recoveringPair(t, server, transports);
        const reasons: string[] = [];
        socket.on('disconnect', (reason: string) => reasons.push(reason));
        await linkUp(server.proxy, socket);
        const away = once(socket, 'interrupted');
        server.proxy.cut();
        await away;
        end(server, socket);
        assert.deepEqual(reasons, ['server namespace disconnect']);
        assert.equal(socket.connected, false);
        assert.equal(server.io.recovery.suspended, 0);
        const connected = once(client, 'connect');
        server.proxy.heal();
        await connected;
        assert.equal(client.recovered, false);
        assert.notEqual(client.id, socket.id);
      });
    }

    test('ends an interrupted session with "server shutting down" when the server closes', async (t) => {
      const server = await startRecoveryIo(t);
      const { socket } = await recoveringPair(t, server, transports);
      const reasons: string[] = [];
      socket.on('disconnect', (reason: string) => reasons.push(reason));
      await linkUp(server.proxy, socket);
      const away = once(socket, 'interrupted');
      server.proxy.cut();
      await away;
      await server.io.close();
      assert.deepEqual(reasons, ['server shutting down']);
      assert.equal(server.io.recovery.suspended, 0);
    });

    test('hands a suspended session to the sessionStore, and takes it back or drops it', async (t) => {
      const calls: Array<[string, string]> = [];
      let kept: SessionState | undefined;
      const store: SessionStore = {
        keep(state) {
          kept = state;
          calls.push(['keep', state.pid]);
        },
        restore(pid) {
          calls.push(['restore', pid]);
          return kept;
        },
        expire(pid) {
          calls.push(['expire', pid]);
        },
      };
      const server = await startRecoveryIo(t, { sessionStore: store, reconnectTimeout: 300 });
      server.io.on('connection', (socket) => {
        void socket.join('room');
        socket.data = { user: 'ada' };
      });
      const { client, socket } = await recoveringPair(t, server, transports);
      const pid = pidOf(client) as string;
      await linkUp(server.proxy, socket);
      const away = once(socket, 'interrupted');
      server.proxy.cut();
      await away;
      assert.deepEqual(calls, [['keep', pid]]);
      assert.equal(kept?.sid, socket.id);
      assert.equal(kept?.nsp, '/');
      assert.deepEqual([...(kept?.rooms ?? [])].sort(), [socket.id, 'room'].sort());
      assert.deepEqual(kept?.data, { user: 'ada' });
      assert.ok((kept?.expiresAt ?? 0) > Date.now() - 1000);
      // serialisable: no live references
      assert.doesNotThrow(() => JSON.stringify(kept));

      const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
      server.proxy.heal();
      await back;
      assert.deepEqual(calls, [['keep', pid], ['restore', pid]]);

      // then, not reclaimed in time: dropped from the store
      await linkUp(server.proxy, socket);
      const gone = once(socket, 'disconnect');
      server.proxy.cut();
      await gone;
      assert.deepEqual(calls.slice(2), [['keep', pid], ['expire', pid]]);
    });

    test('ends a session not reclaimed within reconnectTimeout: disconnect once with the original reason, then a fresh session', async (t) => {
      const server = await startRecoveryIo(t, { reconnectTimeout: 300 });
      server.io.on('connection', (socket) => void socket.join('room'));
      const { client, socket } = await recoveringPair(t, server, transports);
      const pid = pidOf(client);
      assert.equal(typeof pid, 'string');
      const reasons: string[] = [];
      socket.on('disconnect', (reason: string) => reasons.push(reason));
      await linkUp(server.proxy, socket);
      const away = once<[string]>(socket, 'interrupted');
      const gone = once(socket, 'disconnect');
      server.proxy.cut();
      const [reason] = await away;
      await gone;
      assert.ok(['transport close', 'transport error'].includes(reason), reason);
      assert.deepEqual(reasons, [reason]);
      assert.equal(socket.connected, false);
      assert.equal(server.io.sockets.sockets.has(socket.id), false);
      assert.equal(server.io.sockets.adapter.rooms.get('room')?.has(socket.id) ?? false, false);
      assert.equal(server.io.metrics.expired, 1);
      assert.equal(server.logs.lines.filter((l) => l.outcome === 'expired' && l.socketId === socket.id && l.reason === reason).length, 1);

      const fresh = nextConnection(server);
      const connected = once(client, 'connect');
      server.proxy.heal();
      await connected;
      const newSocket = await fresh;
      assert.equal(client.recovered, false);
      assert.notEqual(client.id, socket.id);
      assert.equal(newSocket.id, client.id);
      assert.notEqual(pidOf(client), pid);
      assert.equal(server.io.metrics.unknownSession, 1);
      assert.deepEqual(reasons, [reason]);
    });

    test('with reconnectTimeout 0: no pid, no offsets, and disconnect at once when the transport drops', async (t) => {
      const server = await startIo(t, { reconnectTimeout: 0, logger: logSink('warn').logger });
      const proxy = await startProxy(t, server.port);
      const client = await connectIo(t, proxy.url, transports, RECONNECTING);
      const socket = serverSocketOf(server.io, client);
      assert.equal(pidOf(client), undefined);
      assert.equal(socket.pid, undefined);
      const args = once(client, 'x');
      socket.emit('x', 1, 'two');
      assert.deepEqual(await args, [1, 'two']);

      const order: string[] = [];
      socket.on('interrupted', () => order.push('interrupted'));
      socket.on('disconnect', (reason: string) => order.push(`disconnect:${reason}`));
      server.io.on('connection', () => order.push('connection'));
      await linkUp(proxy, socket);
      const back = once(client, 'connect');
      const gone = once(socket, 'disconnect');
      proxy.drop();
      await gone;
      await back;
      assert.match(order[0], /^disconnect:transport (close|error)$/);
      assert.deepEqual(order.slice(1), ['connection']);
      assert.ok(!client.recovered);
      assert.notEqual(client.id, socket.id);
      assert.equal(server.io.recovery.suspended, 0);
      assert.deepEqual(server.io.metrics, NO_OUTCOMES);
    });

    test('counts and logs a recovery, never logging the pid', async (t) => {
      const server = await startRecoveryIo(t);
      const { client, socket } = await recoveringPair(t, server, transports);
      await dropAndRecover(server.proxy, client, socket);
      assert.deepEqual(server.io.metrics, { ...NO_OUTCOMES, recovered: 1 });
      const lines = server.logs.lines.filter((l) => l.outcome === 'recovered');
      assert.equal(lines.length, 1);
      assert.equal(lines[0].socketId, socket.id);
      assert.equal(typeof lines[0].replayed, 'number');
      assert.equal(JSON.stringify(server.logs.lines).includes(pidOf(client) as string), false);
    });

    test('starts a fresh session, counted as a gap, when the client presents an offset that is not ours', async (t) => {
      const server = await startRecoveryIo(t);
      const { client, socket } = await recoveringPair(t, server, transports);
      const got = once(client, 'x');
      socket.emit('x', 1);
      await got;
      (client as unknown as { _lastOffset: string })._lastOffset = 'garbage';
      const gone = once<[string, unknown]>(socket, 'disconnect');
      const fresh = nextConnection(server);
      const connected = once(client, 'connect');
      await linkUp(server.proxy, socket);
      server.proxy.drop();
      const [reason, description] = await gone;
      await connected;
      const newSocket = await fresh;
      assert.ok(['transport close', 'transport error'].includes(reason), reason);
      assert.equal(description, 'recovery failed');
      assert.equal(client.recovered, false);
      assert.equal(newSocket.id, client.id);
      assert.notEqual(client.id, socket.id);
      assert.equal(server.io.metrics.gap, 1);
      assert.equal(server.io.metrics.recovered, 0);
      assert.equal(server.logs.lines.filter((l) => l.outcome === 'gap' && l.socketId === socket.id).length, 1);
    });

    if (transports.includes('websocket')) {
      test('starts a fresh session, counted as a gap, when packets the client never read were dropped over maxQueuedPackets', async (t) => {
        // no heartbeat: nothing the client reads is ever confirmed, so the log has to drop written entries
        const server = await startRecoveryIo(t, { maxQueuedPackets: 5, pingInterval: 20000, pingTimeout: 20000 });
        const { client, socket } = await recoveringPair(t, server, transports);
        const got = received(client);
        await linkUp(server.proxy, socket);
        server.proxy.pause();
        for (let n = 1; n <= 10; n++) server.io.emit('b', n);
        assert.ok((socket.client.outbox?.packets ?? 0) <= 5);
        assert.equal(server.io.metrics.slowConsumer, 0);
        const gone = once(socket, 'disconnect');
        const connected = once(client, 'connect');
        server.proxy.drop();
        server.proxy.resume();
        await gone;
        await connected;
        assert.equal(client.recovered, false);
        assert.notEqual(client.id, socket.id);
        assert.equal(server.io.metrics.gap, 1);
        assert.deepEqual(got, []);
      });
    }
  });
}

describe('io recovery outcomes with raw clients', () => {
  test('answers a CONNECT with an unknown pid with a fresh session, counted and logged without the pid', async (t) => {
    const server = await startRecoveryIo(t);
    const fresh = nextConnection(server);
    const raw = await rawSocketIo(t, server.port);
    raw.send('40{"pid":"nope","offset":"nope.1","token":"t"}');
    const reply = await raw.next((m) => m.startsWith('40'), 'the CONNECT reply');
    const data = JSON.parse(reply.slice(2)) as { sid: string; pid: string };
    const socket = await fresh;
    assert.deepEqual(Object.keys(data).sort(), ['pid', 'sid']);
    assert.equal(data.sid, socket.id);
    assert.notEqual(data.pid, 'nope');
    // the recovery fields are not the app's auth
    assert.deepEqual(socket.handshake.auth, { token: 't' });
    assert.equal(server.io.metrics.unknownSession, 1);
    assert.equal(server.logs.lines.filter((l) => l.outcome === 'unknownSession').length, 1);
    assert.equal(JSON.stringify(server.logs.lines).includes('nope'), false);
  });

  test('resends an acked emit whose answer was lost, though later events were received and confirmed; the ack resolves once', async (t) => {
    const server = await startRecoveryIo(t, { pingInterval: 30 });
    const fresh = nextConnection(server);
    const first = await rawSocketIo(t, server.port);
    first.send('40');
    const reply = JSON.parse((await first.next((m) => m.startsWith('40'), 'the CONNECT reply')).slice(2)) as { sid: string; pid: string };
    const socket = await fresh;
    const answers: unknown[] = [];
    socket.emit('ask', 1, (value: unknown) => answers.push(value));
    socket.emit('x', 2);
    const x = await first.next((m) => m.startsWith('42["x"'), 'the event after the ask');
    const offset = (JSON.parse(x.slice(2)) as unknown[])[2] as string;
    // two pongs (answered by the raw client) confirm both: only the unanswered ask is kept
    await collect(socket.conn, 'heartbeat', 2);
    assert.equal(socket.client.outbox?.packets, 1);

    // the client got both but its answer never left: the link dies first
    const away = once(socket, 'interrupted');
    first.ws.terminate();
    await away;
    const second = await rawSocketIo(t, server.port);
    second.send(`40${JSON.stringify({ pid: reply.pid, offset })}`);
    const back = await second.next((m) => m.startsWith('40'), 'the recovery CONNECT reply');
    assert.deepEqual(JSON.parse(back.slice(2)), reply);
    assert.deepEqual(
      second.messages.filter((m) => m.startsWith('4')),
      ['420["ask",1]', back],
    );
    second.send('430[1]');
    second.send('430[1]');
    await until(() => answers.length > 0, 2000, 'the ack');
    await marker2(second, socket);
    assert.deepEqual(answers, [1]);
  });

  test('closes a taken-over polling session at once, though it holds no GET to carry the close', async (t) => {
    // no heartbeat during the test: only the takeover may end the stale session
    const server = await startRecoveryIo(t, { pingInterval: 20000, pingTimeout: 20000 });
    const base = `${server.url}/socket.io/`;
    const { sid } = await handshake(base);
    await request(`${base}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '40' });
    // the GET that carries the CONNECT reply is the last one: then the client is gone, unnoticed
    const connect = await request(`${base}?EIO=4&transport=polling&sid=${sid}`);
    const reply = JSON.parse(connect.body.slice(2)) as { sid: string; pid: string };
    const stale = server.io.engine.clients.get(sid);
    assert.ok(stale);
    const staleClosed = once(stale, 'close');
    const raw = await rawSocketIo(t, server.port);
    raw.send(`40${JSON.stringify({ pid: reply.pid })}`);
    const back = await raw.next((m) => m.startsWith('40'), 'the recovery CONNECT reply');
    assert.deepEqual(JSON.parse(back.slice(2)), reply);
    await staleClosed;
    assert.equal(server.io.engine.clients.has(sid), false);
    assert.equal(server.io.engine.clientsCount, 1);
  });

  test('sends a CONNECT reply with only the sid and events without offsets when reconnectTimeout is 0', async (t) => {
    const server = await startIo(t, { reconnectTimeout: 0 });
    const fresh = nextConnection(server);
    const raw = await rawSocketIo(t, server.port);
    raw.send('40');
    const reply = await raw.next((m) => m.startsWith('40'), 'the CONNECT reply');
    const socket = await fresh;
    assert.deepEqual(JSON.parse(reply.slice(2)), { sid: socket.id });
    socket.emit('x', 1, 'two');
    server.io.emit('y');
    await raw.next((m) => m.startsWith('42["y"'), 'the broadcast');
    assert.deepEqual(
      raw.messages.filter((m) => m.startsWith('42')),
      ['42["x",1,"two"]', '42["y"]'],
    );
  });
});
