// Reserved event names and protocol violations: what the server refuses to emit, and the raw packets
// (official client's engine, raw HTTP polling, raw ws) that close the whole Engine.IO session.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket from 'ws';
import { connectIo, connectPair, startIo, TRANSPORT_SETS, until } from '../support/io';
import { logSink } from '../support/logs';
import { handshake, request } from '../support/raw-http';
import { collect, once } from '../support/wait';

describe('io reserved event names', () => {
  test('throws on socket, namespace and broadcast emits of reserved names', async (t) => {
    const server = await startIo(t);
    const { socket } = await connectPair(t, server, ['websocket']);
    const { io } = server;
    for (const name of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']) {
      assert.throws(() => socket.emit(name), /reserved/, `socket.emit(${name})`);
      assert.throws(() => io.emit(name), /reserved/, `io.emit(${name})`);
      assert.throws(() => io.to('r').emit(name), /reserved/, `io.to().emit(${name})`);
      assert.throws(() => socket.broadcast.emit(name), /reserved/, `socket.broadcast.emit(${name})`);
      assert.throws(() => io.of('/other').emit(name), /reserved/, `nsp.emit(${name})`);
    }
    assert.equal(socket.connected, true);
  });
});

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`io protocol violations over ${name}`, () => {
    // the official client's engine sends what its Socket.IO layer never would ('4' is added by the engine)
    const violations: ReadonlyArray<readonly [string, string]> = [
      ['closes the session when the client emits a reserved event name', '2["disconnect"]'],
      ['closes the session on an EVENT for a namespace it did not connect', '2/nope,["x"]'],
      ['closes the session on a second CONNECT to a connected namespace', '0'],
      ['closes the session on a CONNECT_ERROR from the client', '4{"message":"x"}'],
      ['closes the session on a malformed packet', '2{"a":1}'],
    ];
    for (const [title, raw] of violations) {
      test(title, async (t) => {
        const sink = logSink('warn');
        const server = await startIo(t, { logger: sink.logger });
        const { client, socket } = await connectPair(t, server, transports);
        const serverClosed = once(socket.conn, 'close');
        const clientClosed = once(client.io.engine, 'close');
        const disconnected = once(socket, 'disconnect');
        client.io.engine.send(raw);
        await serverClosed;
        await clientClosed;
        await disconnected;
        assert.equal(server.io.engine.clientsCount, 0);
        const lines = sink.withCode('ERR_BAD_PACKET');
        assert.equal(lines.length, 1, JSON.stringify(sink.lines));
        assert.equal(lines[0].level, 40);
        // the server goes on: a fresh official client connects and talks
        const fresh = await connectIo(t, server.url, transports);
        server.io.sockets.sockets.get(fresh.id as string)?.on('echo', (v: unknown, ack: (v: unknown) => void) => ack(v));
        assert.equal(await fresh.timeout(2000).emitWithAck('echo', 'fine'), 'fine');
      });
    }
  });
}

/** A raw WebSocket Engine.IO session: resolves once the open packet arrived. */
async function rawWebSocket(t: Parameters<typeof startIo>[0], port: number): Promise<{ ws: WebSocket; messages: string[] }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
  t.after(() => ws.terminate());
  const messages: string[] = [];
  ws.on('message', (data, isBinary) => messages.push(isBinary ? `<binary ${(data as Buffer).length}>` : data.toString()));
  await once(ws, 'message');
  assert.match(messages[0], /^0\{"sid"/);
  return { ws, messages };
}

describe('io protocol violations over raw polling', () => {
  test('closes the session on an EVENT before CONNECT: the pending GET gets the close packet', async (t) => {
    const sink = logSink('warn');
    const { url, io } = await startIo(t, { logger: sink.logger });
    const base = `${url}/socket.io/`;
    const { sid } = await handshake(base);
    const poll = request(`${base}?EIO=4&transport=polling&sid=${sid}`);
    // the GET is held by the server once the session has a pending poll: wait for it, not for time
    await until(() => io.engine.clients.get(sid)?.transport.writable === true, 2000, 'the held GET');
    await request(`${base}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '42["x"]' });
    const closed = await poll;
    assert.equal(closed.status, 200);
    assert.equal(closed.body, '1');
    const after = await request(`${base}?EIO=4&transport=polling&sid=${sid}`);
    assert.equal(after.status, 400);
    assert.equal(JSON.parse(after.body).code, 1);
    assert.equal(sink.withCode('ERR_BAD_PACKET').length, 1);
  });

  test('closes the session on an EVENT that arrives while its CONNECT is still in middleware', async (t) => {
    const { url, io } = await startIo(t);
    io.use((_socket, next) => setImmediate(next)); // the CONNECT is still in middleware when the EVENT comes
    const base = `${url}/socket.io/`;
    const { sid } = await handshake(base);
    await request(`${base}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '40\x1e42["x"]' });
    const after = await request(`${base}?EIO=4&transport=polling&sid=${sid}`);
    // the close packet (after a noop, as the official server sends: PROTOCOL.md §2.6) or the unknown-sid answer
    const closePacket = after.status === 200 && after.body.split('\x1e').at(-1) === '1';
    assert.ok(closePacket || (after.status === 400 && JSON.parse(after.body).code === 1), `${after.status} ${after.body}`);
    assert.equal(io.engine.clientsCount, 0);
  });
});

describe('io protocol violations over raw WebSocket', () => {
  test('closes the session on an EVENT before CONNECT', async (t) => {
    const sink = logSink('warn');
    const { port, io } = await startIo(t, { logger: sink.logger });
    const { ws } = await rawWebSocket(t, port);
    const closed = once(ws, 'close');
    ws.send('42["x"]');
    await closed;
    assert.equal(io.engine.clientsCount, 0);
    assert.equal(sink.withCode('ERR_BAD_PACKET').length, 1);
  });

  test('closes the session on a second CONNECT to the main namespace', async (t) => {
    const { port, io } = await startIo(t);
    const { ws, messages } = await rawWebSocket(t, port);
    const reply = once(ws, 'message');
    ws.send('40');
    await reply;
    assert.match(messages[1], /^40\{"sid":"[A-Za-z0-9_-]+"\}$/);
    const closed = once(ws, 'close');
    ws.send('40');
    await closed;
    assert.equal(io.engine.clientsCount, 0);
  });

  // [input after a CONNECT to '/', code of the one warn line]
  const malformed: ReadonlyArray<readonly [string, string]> = [
    ['4abc', 'ERR_BAD_PACKET'],
    ['48', 'ERR_BAD_PACKET'],
    ['42{"a":1}', 'ERR_BAD_PACKET'],
    ['42[]', 'ERR_BAD_PACKET'],
    ['42[1]', 'ERR_BAD_PACKET'],
    ['42["x"', 'ERR_BAD_PACKET'],
    ['41{}', 'ERR_BAD_PACKET'],
    ['43["no id"]', 'ERR_BAD_PACKET'],
    ['42["connect"]', 'ERR_BAD_PACKET'],
    ['45-["x"]', 'ERR_BAD_PACKET'],
    ['451-["x",{"_placeholder":true,"num":3}]', 'ERR_BAD_PACKET'],
    ['<binary>', 'ERR_BAD_PACKET'],
  ];
  for (const [input, code] of malformed) {
    test(`closes the session with one warn line ${code} on ${JSON.stringify(input)}`, async (t) => {
      const sink = logSink('warn');
      const { port, io } = await startIo(t, { logger: sink.logger });
      const { ws } = await rawWebSocket(t, port);
      const reply = once(ws, 'message');
      ws.send('40');
      await reply;
      const closed = once(ws, 'close');
      if (input === '<binary>') ws.send(Buffer.from([1, 2, 3]));
      else ws.send(input);
      await closed;
      assert.equal(io.engine.clientsCount, 0);
      const lines = sink.withCode(code);
      assert.equal(lines.length, 1, JSON.stringify(sink.lines));
      assert.equal(lines[0].level, 40);
    });
  }

  test('keeps the session when a binary packet and its attachments arrive in order', async (t) => {
    const { port, io } = await startIo(t);
    io.on('connection', (socket) => socket.on('bin', (data: Buffer, ack: (n: number) => void) => ack(data.length)));
    const { ws, messages } = await rawWebSocket(t, port);
    const reply = once(ws, 'message');
    ws.send('40');
    await reply;
    const answer = collect(ws, 'message', 1);
    ws.send('451-7["bin",{"_placeholder":true,"num":0}]');
    ws.send(Buffer.from([1, 2, 3]));
    await answer;
    assert.equal(messages[2], '437[3]');
  });
});
