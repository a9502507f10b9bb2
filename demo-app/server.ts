// The demo: an Express app with express-socket.io mounted under /chat next to ordinary routes.
import express from 'express';
import { join } from 'node:path';
import { socketio } from '../lib/index';

const port = Number(process.env.PORT ?? 3000);
const app = express();
const io = socketio();

app.get('/health', (_req, res) => {
  res.json({ ok: true, connections: io.engine.clientsCount });
});
app.use('/chat', io);
app.use(express.static(join(__dirname, 'public')));

// the classic API: every message goes to everyone else
io.on('connect', (conn) => io.broadcastExcept(conn, { announcement: `connected: ${conn.id}` }));
io.on('message', (conn, data) => io.broadcastExcept(conn, { message: [conn.id, data] }));
io.on('disconnect', (conn) => io.broadcastExcept(conn, { announcement: `disconnected: ${conn.id}` }));

app.listen(port, '127.0.0.1', () => {
  console.log(`demo listening on http://127.0.0.1:${port}/`);
});
