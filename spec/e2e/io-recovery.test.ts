// Connection state recovery with the official socket.io-client behind a TCP proxy: a seeded stream of
// emits, broadcasts and acked emits across repeated drops, and one test per known socket.io failure
// (#4888, #5282, #4880, #5419), a drop during the upgrade, another transport or address on return,
// and a client back before the server noticed its old transport died.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { connectNamespace, serverSocketOf, TRANSPORT_SETS, until, type ClientSocket, type ServerSocket } from '../support/io';
import { dropAndRecover, lcg, linkUp, marker, recoveringPair, startRecoveryIo, turn, type RecoveryApp } from '../support/recovery';
import { collect, once } from '../support/wait';

/** Records the numbers a client receives for `events`, in arrival order. */
function numbers(client: ClientSocket, ...events: string[]): number[] {
  const got: number[] = [];
  for (const ev of events) client.on(ev, (n: number) => got.push(n));
  return got;
}

/** Counts the server socket's own lifecycle events. */
function lifecycle(socket: ServerSocket): string[] {
  const seen: string[] = [];
  for (const ev of ['interrupted', 'resumed', 'disconnect']) socket.on(ev as 'disconnect', () => seen.push(ev));
  return seen;
}

/** Sends numbers `from..to` as direct emits. */
function emitRange(socket: ServerSocket, from: number, to: number): void {
  for (let n = from; n <= to; n++) socket.emit('n', n);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Connection listener: every socket joins 'room' and gets data, to check both survive. */
function joinRoom(server: RecoveryApp): void {
  server.io.on('connection', (socket) => {
    void socket.join('room');
    socket.data = { user: 'ada' };
  });
}

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io recovery over ${name}`, () => {
    test('delivers a seeded stream of emits, broadcasts and acked emits across repeated drops, in order and once', async (t) => {
      const server = await startRecoveryIo(t);
      joinRoom(server);
      let connections = 0;
      server.io.on('connection', () => connections++);
      const { client, socket } = await recoveringPair(t, server, transports);
      const id = socket.id;
      const events = lifecycle(socket);
      const rng = lcg(0x5eed);

      // what the client saw: plain numbers in order, and each acked emit with the link it came on
      let link = 0;
      client.on('disconnect', () => link++);
      const plain = numbers(client, 'direct', 'room');
      const asked: Array<{ n: number; link: number }> = [];
      client.on('ask', (n: number, answer: (n: number) => void) => {
        asked.push({ n, link });
        answer(n);
      });
      const recoveries: boolean[] = [];
      client.on('connect', () => recoveries.push(client.recovered));

      // what the server sent, and on which link each ack resolved (and how many times)
      const resolvedOn = new Map<number, number[]>();
      const onAnswer = (n: number): void => void resolvedOn.set(n, [...(resolvedOn.get(n) ?? []), link]);
      const sentPlain: number[] = [];
      const sentAsk: number[] = [];

      const STEPS = 300;
      const DROPS = 5;
      const dropAt = new Set<number>();
      while (dropAt.size < DROPS) dropAt.add(20 + Math.floor(rng() * (STEPS - 40)));
      let back: Promise<unknown> = Promise.resolve();
      for (let n = 0; n < STEPS; n++) {
        if (dropAt.has(n)) {
          // one drop at a time: the previous recovery is complete and the new link is up
          await back;
          await linkUp(server.proxy, socket);
          back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
          server.proxy.drop();
        }
        const pick = rng();
        if (pick < 0.4) {
          socket.emit('direct', n);
          sentPlain.push(n);
        } else if (pick < 0.8) {
          server.io.to('room').emit('room', n);
          sentPlain.push(n);
        } else {
          socket.emit('ask', n, onAnswer);
          sentAsk.push(n);
        }
        // bursts and single packets: sometimes several steps in one tick, sometimes one per tick
        if (rng() < 0.5) await turn();
      }
      await back;
      await marker(client, socket);
      await until(() => sentAsk.every((n) => resolvedOn.has(n)), 3000, 'every ack resolved');

      assert.deepEqual(plain, sentPlain, 'every plain emit and broadcast exactly once, in order');
      for (const n of sentAsk) {
        const answers = resolvedOn.get(n) ?? [];
        assert.equal(answers.length, 1, `ack ${n} resolved once`);
        const links = asked.filter((a) => a.n === n).map((a) => a.link);
        assert.ok(links.length >= 1, `ask ${n} received`);
        // a copy comes again only from a replay, on a later link, while its answer had not reached the
        // server: received twice when one drop lost the answer (more only if the next drop lost it too)
        for (let i = 1; i < links.length; i++) assert.ok(links[i] > links[i - 1], `ask ${n} received twice on link ${links[i]}`);
        assert.ok(links[links.length - 1] <= answers[0], `ask ${n} resent after its ack resolved`);
      }
      assert.deepEqual(recoveries, Array(DROPS).fill(true));
      assert.equal(client.id, id);
      assert.equal(socket.id, id);
      assert.equal(connections, 1);
      assert.deepEqual(events.filter((e) => e === 'disconnect'), []);
      assert.equal(events.filter((e) => e === 'resumed').length, DROPS);
      assert.ok(server.io.sockets.adapter.rooms.get('room')?.has(id));
      assert.deepEqual(socket.data, { user: 'ada' });
      assert.equal(server.io.metrics.recovered, DROPS);
    });

    test('recovers a session that received no event before the drop (#4888)', async (t) => {
      const server = await startRecoveryIo(t);
      const { client, socket } = await recoveringPair(t, server, transports);
      const got = numbers(client, 'n');
      await linkUp(server.proxy, socket);
      const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
      const away = once(socket, 'interrupted');
      server.proxy.drop();
      await away;
      emitRange(socket, 1, 3);
      await back;
      assert.equal(client.recovered, true);
      await marker(client, socket);
      assert.deepEqual(got, [1, 2, 3]);
    });

    test('recovers after a long idle period of several heartbeats (#5282)', async (t) => {
      const server = await startRecoveryIo(t, { pingInterval: 30 });
      const { client, socket } = await recoveringPair(t, server, transports);
      const got = numbers(client, 'n');
      emitRange(socket, 1, 2);
      await marker(client, socket);
      await collect(socket.conn, 'heartbeat', 5);
      // the pongs confirmed everything: nothing is held for replay any more
      assert.equal(socket.client.outbox?.packets, 0);
      await dropAndRecover(server.proxy, client, socket);
      emitRange(socket, 3, 4);
      await marker(client, socket);
      assert.deepEqual(got, [1, 2, 3, 4]);
    });

    test('recovers every time, not only once: five drops in a row (#4880)', async (t) => {
      const server = await startRecoveryIo(t);
      let middlewareRuns = 0;
      server.io.use((_socket, next) => {
        middlewareRuns++;
        next();
      });
      const { client, socket } = await recoveringPair(t, server, transports);
      const got = numbers(client, 'n');
      for (let drop = 0; drop < 5; drop++) {
        socket.emit('n', drop * 2);
        await linkUp(server.proxy, socket);
        const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
        const away = once(socket, 'interrupted');
        server.proxy.drop();
        await away;
        socket.emit('n', drop * 2 + 1);
        await back;
        assert.equal(client.recovered, true, `recovery ${drop + 1}`);
      }
      await marker(client, socket);
      assert.deepEqual(got, range(0, 9));
      assert.equal(server.io.metrics.recovered, 5);
      // a recovery skips the connect middlewares (as socket.io does)
      assert.equal(middlewareRuns, 1);
    });

    test('recovers a session the server suspended on a ping timeout', async (t) => {
      // a timeout short enough for the test, long enough for a loaded machine's live link
      const server = await startRecoveryIo(t, { pingInterval: 50, pingTimeout: 400 });
      const { client, socket } = await recoveringPair(t, server, transports);
      const got = numbers(client, 'n');
      emitRange(socket, 1, 1);
      await marker(client, socket);
      // the client stays away until the server has given up on the link
      client.io.reconnection(false);
      await linkUp(server.proxy, socket);
      const away = once<[string]>(socket, 'interrupted');
      // a silent peer: only the missing pong tells the server (and a polling client's goodbye is refused)
      server.proxy.refuse();
      server.proxy.halfOpen();
      assert.deepEqual(await away, ['ping timeout']);
      socket.emit('n', 2);
      server.proxy.heal();
      const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
      client.io.reconnection(true);
      client.connect();
      await back;
      assert.equal(client.recovered, true);
      await marker(client, socket);
      assert.deepEqual(got, [1, 2]);
    });

    test('recovers every namespace of the connection', async (t) => {
      const server = await startRecoveryIo(t);
      server.io.of('/admin');
      const { client, socket } = await recoveringPair(t, server, transports);
      const admin = await connectNamespace(client, '/admin');
      // the Manager reconnects while any of its sockets is active: the test ends both
      t.after(() => admin.disconnect());
      const adminSocket = serverSocketOf(server.io, admin, '/admin');
      const gotMain = numbers(client, 'n');
      const gotAdmin = numbers(admin, 'n');
      await linkUp(server.proxy, socket);
      const away = Promise.all([once(socket, 'interrupted'), once(adminSocket, 'interrupted')]);
      const back = Promise.all([once(client, 'connect'), once(admin, 'connect'), once(socket, 'resumed'), once(adminSocket, 'resumed')]);
      server.proxy.drop();
      await away;
      socket.emit('n', 1);
      adminSocket.emit('n', 2);
      await back;
      assert.equal(client.recovered, true);
      assert.equal(admin.recovered, true);
      assert.equal(socket.conn, adminSocket.conn);
      await marker(client, socket);
      await marker(admin, adminSocket);
      assert.deepEqual(gotMain, [1]);
      assert.deepEqual(gotAdmin, [2]);
      assert.equal(server.io.metrics.recovered, 2);
    });

    test('replays nothing twice: a second drop right after a recovery resends nothing (#5419)', async (t) => {
      const server = await startRecoveryIo(t);
      const { client, socket } = await recoveringPair(t, server, transports);
      const got = numbers(client, 'n');
      emitRange(socket, 1, 3);
      await marker(client, socket);
      await linkUp(server.proxy, socket);
      const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
      const away = once(socket, 'interrupted');
      server.proxy.drop();
      await away;
      emitRange(socket, 4, 6);
      await back;
      // the replayed packets are back in the log until confirmed: the next drop must not resend them
      await dropAndRecover(server.proxy, client, socket);
      await dropAndRecover(server.proxy, client, socket);
      emitRange(socket, 7, 8);
      await marker(client, socket);
      assert.deepEqual(got, range(1, 8));
    });

    const other = transports.length === 1 && transports[0] === 'websocket' ? 'polling' : 'websocket';
    test(`recovers when the client comes back over ${other}`, async (t) => {
      const server = await startRecoveryIo(t);
      const { client, socket } = await recoveringPair(t, server, transports);
      const got = numbers(client, 'n');
      emitRange(socket, 1, 2);
      await marker(client, socket);
      client.io.opts.transports = [other];
      await linkUp(server.proxy, socket);
      const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
      const away = once(socket, 'interrupted');
      server.proxy.drop();
      await away;
      emitRange(socket, 3, 4);
      await back;
      assert.equal(client.recovered, true);
      assert.equal(socket.conn.transport.name, other);
      assert.equal(client.io.engine.transport.name, other);
      await marker(client, socket);
      assert.deepEqual(got, range(1, 4));
    });

    test('recovers when the client comes back from another address', async (t) => {
      const server = await startRecoveryIo(t);
      const { client, socket } = await recoveringPair(t, server, transports);
      const got = numbers(client, 'n');
      emitRange(socket, 1, 2);
      await marker(client, socket);
      assert.equal(socket.conn.remoteAddress, '127.0.0.1');
      await linkUp(server.proxy, socket);
      const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
      server.proxy.localAddress = '127.0.0.2';
      server.proxy.drop();
      await back;
      assert.equal(client.recovered, true);
      assert.equal(socket.conn.remoteAddress, '127.0.0.2');
      // the handshake is the session's first one
      assert.equal(socket.handshake.address, '127.0.0.1');
      emitRange(socket, 3, 4);
      await marker(client, socket);
      assert.deepEqual(got, range(1, 4));
    });

    test('takes the session over when the client is back before the server noticed the old transport died', async (t) => {
      // no heartbeat during the test: only the client's return can reveal the dead transport
      const server = await startRecoveryIo(t, { pingInterval: 20000, pingTimeout: 20000 });
      const { client, socket } = await recoveringPair(t, server, transports);
      const events = lifecycle(socket);
      const got = numbers(client, 'n');
      emitRange(socket, 1, 2);
      await marker(client, socket);
      await linkUp(server.proxy, socket);
      const oldConn = socket.conn;
      const oldClosed = once(oldConn, 'close');
      const back = Promise.all([once(client, 'connect'), once(socket, 'resumed')]);
      // both lost on the wire, so replayed on return: 3 answers the held GET of a polling client (the
      // stale session then holds none), 4 is written to the half-open transport
      socket.emit('n', 3);
      const clientSawIt = once(client, 'disconnect');
      // (a polling client's goodbye on a new connection would tell the server: refused)
      server.proxy.refuse();
      server.proxy.halfOpen();
      socket.emit('n', 4);
      await clientSawIt;
      server.proxy.heal();
      await back;
      await oldClosed;
      assert.equal(client.recovered, true);
      assert.notEqual(socket.conn, oldConn);
      assert.equal(oldConn.readyState, 'closed');
      assert.deepEqual(events, ['interrupted', 'resumed']);
      assert.equal(server.io.metrics.recovered, 1);
      emitRange(socket, 5, 5);
      await marker(client, socket);
      assert.deepEqual(got, range(1, 5));
    });

    if (transports.length === 2) {
      test('loses and repeats nothing when the link drops in the middle of the polling → WebSocket upgrade', async (t) => {
        const server = await startRecoveryIo(t);
        const { client, socket } = await recoveringPair(t, server, transports);
        const got = numbers(client, 'n');
        emitRange(socket, 1, 2);
        await marker(client, socket);
        // the next session's upgrade probe is where the link drops; depending on what was in flight the
        // session goes on over polling or is recovered once more
        let droppedInUpgrade = false;
        server.io.engine.once('connection', (conn: ServerSocket['conn']) => {
          conn.once('upgrading', () => {
            droppedInUpgrade = true;
            socket.emit('n', 4);
            server.proxy.drop();
            socket.emit('n', 5);
          });
        });
        await linkUp(server.proxy, socket);
        const away = once(socket, 'interrupted');
        server.proxy.drop();
        await away;
        socket.emit('n', 3);
        await until(() => droppedInUpgrade && client.connected && socket.client.current !== undefined, 5000, 'the session back after the drop in the upgrade');
        assert.equal(client.recovered, true);
        emitRange(socket, 6, 6);
        await marker(client, socket);
        assert.deepEqual(got, range(1, 6));
        assert.equal(server.io.metrics.gap + server.io.metrics.expired + server.io.metrics.unknownSession, 0);
      });
    }
  });
}
