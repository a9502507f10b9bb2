// The contract every benchmarked server keeps: listen on 127.0.0.1, say `ready` with its port over IPC,
// answer `mem` (process.memoryUsage() 1 s after a full GC), `profile-start` / `profile-stop`, `count`, `stop`.
import type { Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { writeHeapSnapshot } from 'node:v8';

/** Messages the harness sends; each carries an id echoed in the answer. */
export type ControlRequest =
  | { id: number; cmd: 'mem' }
  | { id: number; cmd: 'count' }
  | { id: number; cmd: 'profile-start'; intervalUs: number }
  | { id: number; cmd: 'profile-stop'; file: string }
  | { id: number; cmd: 'heap-snapshot'; file: string }
  | { id: number; cmd: 'stop' };

export interface ReadyMessage {
  type: 'ready';
  name: string;
  port: number;
  versions: Record<string, string>;
  notes: string[];
}

/** What a server file hands to serve(). */
export interface BenchServer {
  readonly name: string;
  readonly server: Server;
  /** Sockets connected to the main namespace right now. */
  count(): number;
  /** Library versions and configuration notes for the report. */
  readonly versions: Record<string, string>;
  readonly notes: string[];
}

/** A server never outlives this, whatever happens to the harness. */
const MAX_LIFETIME_MS = 15 * 60 * 1000;

/** ms between the forced GC and the memory reading (measured: 1 s is enough for 10k idle connections). */
const SETTLE_AFTER_GC_MS = 1000;

function gcNow(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the server with --expose-gc');
  // twice: weak callbacks and finalizers of the first pass free more in the second
  gc();
  gc();
}

function send(message: unknown): void {
  if (process.send) process.send(message);
}

/** Listens on 127.0.0.1 (port from BENCH_PORT, default ephemeral) and serves the control channel. */
export function serve(bench: BenchServer): void {
  if (!process.send) throw new Error('start this file from the bench harness (it needs an IPC channel)');
  const lifetime = setTimeout(() => process.exit(3), MAX_LIFETIME_MS);
  lifetime.unref();
  let profiler: Session | undefined;
  const { server } = bench;
  // Node's defaults would end idle keep-alive polling connections in the middle of a measurement
  server.keepAliveTimeout = 60_000;
  server.headersTimeout = 65_000;
  server.requestTimeout = 0;
  server.listen({ port: Number(process.env.BENCH_PORT ?? 0), host: '127.0.0.1', backlog: 4096 }, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const ready: ReadyMessage = { type: 'ready', name: bench.name, port, versions: bench.versions, notes: bench.notes };
    send(ready);
  });
  process.on('disconnect', () => process.exit(2));
  process.on('message', (raw) => {
    const msg = raw as ControlRequest;
    switch (msg.cmd) {
      case 'mem':
        gcNow();
        // V8 hands the pages a full GC freed back to the OS from a background thread: read RSS (here and in
        // the harness, which reads /proc after this answer) once that is done, not while it is under way
        setTimeout(() => send({ id: msg.id, result: process.memoryUsage() }), SETTLE_AFTER_GC_MS);
        return;
      case 'heap-snapshot':
        gcNow();
        send({ id: msg.id, result: writeHeapSnapshot(msg.file) });
        return;
      case 'count':
        send({ id: msg.id, result: bench.count() });
        return;
      case 'profile-start':
        profiler = new Session();
        profiler.connect();
        profiler.post('Profiler.enable', () => {
          profiler?.post('Profiler.setSamplingInterval', { interval: msg.intervalUs }, () => {
            profiler?.post('Profiler.start', () => send({ id: msg.id, result: true }));
          });
        });
        return;
      case 'profile-stop':
        if (!profiler) {
          send({ id: msg.id, error: 'no profile running' });
          return;
        }
        profiler.post('Profiler.stop', (err, result) => {
          if (err) send({ id: msg.id, error: String(err) });
          else {
            writeFileSync(msg.file, JSON.stringify(result.profile));
            send({ id: msg.id, result: msg.file });
          }
          profiler?.disconnect();
          profiler = undefined;
        });
        return;
      case 'stop':
        send({ id: msg.id, result: true });
        // the answer must leave before the channel does
        setImmediate(() => process.exit(0));
        return;
      default:
        send({ id: (msg as { id?: number }).id, error: `unknown command ${(msg as { cmd?: string }).cmd}` });
    }
  });
}
