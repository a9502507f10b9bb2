// Server (a): this package, mounted in an Express app with every default (session recovery on); with the
// Redis adapter when the harness hands it BENCH_REDIS_URL (the redis-broadcast scenario).
import { createServer } from 'node:http';
import express from 'express';
import { socketio, type AdapterConstructor } from '../../lib/index';
import { serve } from './control';
import { redisAdapterFromEnv } from './redis-adapter';

async function main(): Promise<void> {
  const redis = await redisAdapterFromEnv();
  const app = express();
  const io = socketio(redis ? { adapter: redis.adapter as AdapterConstructor } : {});
  app.use(io);
  io.on('connection', (socket) => {
    socket.on('echo', (data: unknown, ack: (answer: unknown) => void) => ack(data));
    socket.on('bcast', (data: unknown) => io.emit('tick', data));
  });

  serve({
    name: 'ours',
    server: createServer(app),
    count: () => io.sockets.sockets.size,
    versions: { express: (require('express/package.json') as { version: string }).version, ...redis?.versions },
    notes: [
      'express app, app.use(socketio()) with defaults: recovery on (pid in CONNECT, offset on every event without ack)',
      ...(redis ? [redis.note] : []),
    ],
  });
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? String(err)}\n`);
  process.exit(1);
});
