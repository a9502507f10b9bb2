// A node of ours in a child process, for spec/e2e/cluster-recovery.test.ts: an official Redis adapter and a
// RedisSessionStore, driven over IPC (emit to a room, emit to a socket, close), killed with SIGKILL or SIGTERM.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createAdapter as createRedisAdapter } from '@socket.io/redis-adapter';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { RedisSessionStore, socketio, type AdapterConstructor } from '../../lib/index';

const lifetime = setTimeout(() => process.exit(3), Number(process.env.NODE_LIFETIME_MS ?? 30000));
lifetime.unref();
process.on('disconnect', () => process.exit(0));

export interface NodeCommand {
  seq: number;
  type: 'room' | 'direct' | 'close' | 'flush' | 'storeDown';
  /** Answer without waiting for the store's writes (its link to Redis is cut). */
  noFlush?: boolean;
  room?: string;
  sid?: string;
  ev?: string;
  args?: unknown[];
}

async function client(url: string, reconnect = false): Promise<ReturnType<typeof createClient>> {
  const c = createClient({ url, socket: { reconnectStrategy: reconnect ? (retries: number) => Math.min(20 * retries, 200) : false, connectTimeout: 3000 } });
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function ioredis(url: string): Promise<Redis> {
  const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function main(): Promise<void> {
  const url = process.env.REDIS_URL as string;
  const kind = process.env.ADAPTER ?? 'redis';
  // the store's link to Redis may go through a proxy the test cuts and heals: it reconnects by itself
  const storeUrl = process.env.STORE_URL ?? url;
  const storeClient = process.env.STORE_LIBRARY === 'ioredis' ? await ioredis(storeUrl) : await client(storeUrl, true);
  let adapter: AdapterConstructor;
  if (kind === 'streams') adapter = createStreamsAdapter(await client(url));
  else adapter = createRedisAdapter(await client(url), await client(url));
  const app = express();
  const io = socketio({
    adapter,
    sessionStore: new RedisSessionStore(storeClient, { prefix: process.env.PREFIX }),
    reconnectTimeout: Number(process.env.RECONNECT_TIMEOUT ?? 5000),
    pingInterval: 200,
    pingTimeout: 2000,
  });
  app.use(io);
  io.on('connection', (socket) => {
    // a session restored here or elsewhere keeps its rooms and data: the handshake's are for new ones
    socket.on('disconnect', (reason, description) => process.send?.({ type: 'disconnect', sid: socket.id, reason, description }));
    if (socket.recovered) return;
    const { rooms, data } = socket.handshake.auth as { rooms?: string[]; data?: unknown };
    if (Array.isArray(rooms)) void socket.join(rooms);
    if (data !== undefined) socket.data = data;
  });
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.on('message', (command: NodeCommand) => {
    void (async () => {
      if (command.type === 'room') {
        const before = io.offsets.current;
        io.to(command.room as string).emit(command.ev as never, ...((command.args ?? []) as never[]));
        // the Streams adapter delivers (and this node logs) only once Redis took the message: wait for its offset
        for (let i = 0; i < 500 && io.offsets.current === before; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      }
      if (command.type === 'direct') io.of('/').sockets.get(command.sid as string)?.emit(command.ev as never, ...((command.args ?? []) as never[]));
      if (command.type === 'storeDown') {
        // until the store's client knows its link is gone (then the store drops what it would write)
        for (let i = 0; i < 500 && (storeClient as { isReady?: boolean }).isReady !== false; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      if (command.type === 'close') {
        await io.close();
        server.closeAllConnections();
        server.close();
      }
      // the store's writes went out on this connection before the PING: Redis has them when it answers
      // the store sends a tick's log entries at its end: then a PING answers after them
      await new Promise((resolve) => setImmediate(resolve));
      if (!command.noFlush) await (storeClient as { ping(): Promise<unknown> }).ping();
      process.send?.({ type: 'done', seq: command.seq });
    })();
  });
  process.send?.({ type: 'ready', port: (server.address() as AddressInfo).port, epoch: io.offsets.epoch });
}

main().catch((err: unknown) => {
  process.send?.({ type: 'failed', error: String(err) });
  process.exit(2);
});
