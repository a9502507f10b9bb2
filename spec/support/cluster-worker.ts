// A Node cluster worker for spec/e2e/cluster-node.test.ts: our io over @socket.io/cluster-adapter, behind
// @socket.io/sticky. It lives at most WORKER_LIFETIME_MS and leaves when the primary (the test) is gone.
import cluster from 'node:cluster';
import * as http from 'node:http';
import express from 'express';
import { createAdapter } from '@socket.io/cluster-adapter';
import { setupWorker } from '@socket.io/sticky';
import { socketio } from '../../lib/index';

const lifetime = setTimeout(() => process.exit(3), Number(process.env.WORKER_LIFETIME_MS ?? 30000));
lifetime.unref();
process.on('disconnect', () => process.exit(0));

// spec/e2e/cluster-failures-workers.test.ts: faults reported to the primary, a short heartbeat
if (process.env.REPORT_FAULTS) {
  for (const event of ['unhandledRejection', 'uncaughtException'] as const) {
    process.on(event, (err: unknown) => process.send?.({ type: 'test:fault', event, message: String(err) }));
  }
}
const heartbeat = process.env.HEARTBEAT_MS ? { heartbeatInterval: Number(process.env.HEARTBEAT_MS), heartbeatTimeout: 5 * Number(process.env.HEARTBEAT_MS) } : {};

const id = cluster.worker?.id;
const app = express();
const io = socketio({ adapter: createAdapter(heartbeat) });
app.use(io);
const server = http.createServer(app);
io.attach(server); // sets io.httpServer, where sticky hands the connections it routes here
setupWorker(io as never);

io.on('connection', (socket) => {
  socket.emit('welcome', id, io.offsets.epoch);
  socket.on('shout', (msg: unknown) => io.emit('news', msg, id));
});

/**
 * The test closed its clients first: their last requests (the close packet) are let through before the
 * io closes, so that no connection is on its way to a worker that is gone. Then the IPC channel closes
 * ('disconnect' above exits).
 */
async function stop(): Promise<void> {
  for (let i = 0; i < 300 && io.engine.clientsCount > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  await io.close();
  process.disconnect();
}

process.on('message', (message: { type?: string }) => {
  if (message?.type === 'test:stop') void stop();
  if (message?.type === 'test:serverCount') void io.of('/').adapter.serverCount().then((count) => process.send?.({ type: 'test:serverCount', count }));
});

// ready once this worker counts every worker of the cluster (the adapter learns them by heartbeat)
const expected = Number(process.env.WORKERS ?? 2);
let checks = 0;
const check = async (): Promise<void> => {
  if ((await io.of('/').adapter.serverCount()) >= expected) {
    process.send?.({ type: 'test:ready', id });
    return;
  }
  if (++checks > 2000) process.exit(4);
  setTimeout(check, 10);
};
void check();
