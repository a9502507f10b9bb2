// Engine.IO over polling, WebSocket and the upgrade between them, with the official engine.io-client.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Socket as ClientSocket } from 'engine.io-client';
import { connectEngine, startEngine, TRANSPORT_SETS } from '../support/engine';
import { collect, once } from '../support/wait';
import type { EngineSocket } from '../../lib/engine-io';

for (const [name, transports] of TRANSPORT_SETS) {
  describe(`engine over ${name}`, () => {
    test('echoes text and binary messages both ways', async (t) => {
      const { eio, url } = await startEngine(t);
      eio.on('connection', (socket: EngineSocket) => socket.on('message', (data) => socket.send(data)));
      const client = await connectEngine(t, url, transports);
      assert.equal(client.transport.name, transports[transports.length - 1]);
      const got = collect(client, 'message', 3);
      client.send('héllo \u2028 wörld');
      client.send(Buffer.from([0, 1, 2, 255]));
      client.send('x'.repeat(5000)); // above the compression threshold on polling
      const [text, binary, long] = await got;
      assert.equal(text, 'héllo \u2028 wörld');
      assert.deepEqual(Buffer.from(binary as Uint8Array), Buffer.from([0, 1, 2, 255]));
      assert.equal(long, 'x'.repeat(5000));
    });

    test('delivers what the server sends on connection before anything else', async (t) => {
      const { eio, url } = await startEngine(t);
      eio.on('connection', (socket: EngineSocket) => {
        for (let i = 0; i < 20; i++) socket.send(String(i));
      });
      const client = new ClientSocket(url, { path: '/engine.io/', transports: [...transports] });
      t.after(() => client.close());
      const got = await collect(client, 'message', 20);
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => String(i)));
    });

    test('reports "transport close" on the server when the client closes', async (t) => {
      const { eio, url } = await startEngine(t);
      const serverSide = once<[EngineSocket]>(eio, 'connection');
      const client = await connectEngine(t, url, transports);
      const [socket] = await serverSide;
      const closed = once(socket, 'close');
      client.close();
      const [reason] = await closed;
      assert.equal(reason, 'transport close');
      assert.equal(eio.clientsCount, 0);
    });

    test('closes the client when the server closes the session', async (t) => {
      const { eio, url } = await startEngine(t);
      const serverSide = once<[EngineSocket]>(eio, 'connection');
      const client = await connectEngine(t, url, transports);
      const [socket] = await serverSide;
      const clientClosed = once(client, 'close');
      const serverClosed = once(socket, 'close');
      socket.close();
      assert.equal((await serverClosed)[0], 'forced close');
      await clientClosed;
    });

    test('keeps a session alive across heartbeats', async (t) => {
      const { eio, url } = await startEngine(t, { pingInterval: 40, pingTimeout: 200 });
      const serverSide = once<[EngineSocket]>(eio, 'connection');
      const client = await connectEngine(t, url, transports);
      const [socket] = await serverSide;
      await collect(socket, 'heartbeat', 4);
      assert.equal(socket.readyState, 'open');
      const echoed = once(client, 'message');
      socket.send('still here');
      assert.deepEqual(await echoed, ['still here']);
    });
  });
}

describe('engine upgrade', () => {
  test('loses, duplicates and reorders nothing while the transport switches', async (t) => {
    const { eio, url } = await startEngine(t);
    const serverSide = once<[EngineSocket]>(eio, 'connection');
    const client = new ClientSocket(url, { path: '/engine.io/', transports: ['polling', 'websocket'] });
    t.after(() => client.close());
    const [socket] = await serverSide;
    const count = 300;
    const got = collect<string>(client, 'message', count, 5000);
    const upgraded = once(socket, 'upgrade');
    // a steady stream across the whole upgrade, one message per tick
    let i = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        socket.send(String(i++));
        if (i < count) setImmediate(tick);
        else resolve();
      };
      tick();
    });
    await upgraded;
    assert.deepEqual(await got, Array.from({ length: count }, (_, k) => String(k)));
    assert.equal(socket.transport.name, 'websocket');
  });

  test('releases a held GET with a noop so the client can finish the upgrade', async (t) => {
    const { eio, url } = await startEngine(t);
    const serverUpgraded = new Promise<EngineSocket>((resolve) => {
      eio.once('connection', (socket: EngineSocket) => socket.once('upgrade', () => resolve(socket)));
    });
    // nothing is queued, so the client's GET is held during the probe: only a noop lets it finish
    const client = await connectEngine(t, url, ['polling', 'websocket']);
    const socket = await serverUpgraded;
    assert.equal(socket.upgraded, true);
    assert.equal(client.transport.name, 'websocket');
    const echoed = once(client, 'message');
    socket.send('after upgrade');
    assert.deepEqual(await echoed, ['after upgrade']);
  });
});

describe('engine heartbeat', () => {
  test('closes with "ping timeout" when the client stops answering pings', async (t) => {
    const { eio, url } = await startEngine(t, { pingInterval: 30, pingTimeout: 30 });
    const { handshake } = await import('../support/raw-http');
    const closed = new Promise<string>((resolve) => eio.once('connection', (s: EngineSocket) => s.once('close', (r) => resolve(r))));
    await handshake(`${url}/engine.io/`);
    assert.equal(await closed, 'ping timeout');
  });
});
