// Server (b): the official socket.io 4.8, attached to an Express app's HTTP server, with its defaults
// (connectionStateRecovery off: no pid, no offsets, nothing kept per packet); with the Redis adapter when
// the harness hands it BENCH_REDIS_URL (the redis-broadcast scenario).
import { createServer } from 'node:http';
import express from 'express';
import { Server } from 'socket.io';
import { serve } from './control';
import { redisAdapterFromEnv } from './redis-adapter';

async function main(): Promise<void> {
  const redis = await redisAdapterFromEnv();
  const app = express();
  const server = createServer(app);
  const io = new Server(server, redis ? { adapter: redis.adapter } : {});
  io.on('connection', (socket) => {
    socket.on('echo', (data: unknown, ack: (answer: unknown) => void) => ack(data));
    socket.on('bcast', (data: unknown) => io.emit('tick', data));
  });

  serve({
    name: 'socket.io',
    server,
    count: () => io.of('/').sockets.size,
    versions: {
      'socket.io': (require('socket.io/package.json') as { version: string }).version,
      express: (require('express/package.json') as { version: string }).version,
      ...redis?.versions,
    },
    notes: [
      'official socket.io attached to the http server of an express app; connectionStateRecovery OFF (its default)',
      ...(redis ? [redis.note] : []),
    ],
  });
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? String(err)}\n`);
  process.exit(1);
});
