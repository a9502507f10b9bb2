// Server (a): this package, mounted in an Express app with every default (session recovery on).
import { createServer } from 'node:http';
import express from 'express';
import { socketio } from '../../lib/index';
import { serve } from './control';

const app = express();
const io = socketio();
app.use(io);
io.on('connection', (socket) => {
  socket.on('echo', (data: unknown, ack: (answer: unknown) => void) => ack(data));
  socket.on('bcast', (data: unknown) => io.emit('tick', data));
});

serve({
  name: 'ours',
  server: createServer(app),
  count: () => io.sockets.sockets.size,
  versions: { express: (require('express/package.json') as { version: string }).version },
  notes: ['express app, app.use(socketio()) with defaults: recovery on (pid in CONNECT, offset on every event without ack)'],
});
