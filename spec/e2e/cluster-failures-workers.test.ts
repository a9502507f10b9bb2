// A Node cluster worker SIGKILLed under @socket.io/cluster-adapter, which counts nodes by heartbeat: the
// survivor stops counting it after the heartbeat timeout, and a worker started in its place is counted again.
import assert from 'node:assert/strict';
import cluster, { type Worker } from 'node:cluster';
import { join as joinPath } from 'node:path';
import { test } from 'node:test';
import { setupPrimary as setupAdapterPrimary } from '@socket.io/cluster-adapter';
import { within } from '../support/wait';

const WORKER = joinPath(__dirname, '..', 'support', 'cluster-worker.ts');
/** Heartbeat interval of the workers' adapters (ms); they count a silent worker out after 5 of them. */
const HEARTBEAT_MS = 100;

function nextMessage(worker: Worker, type: string, ms: number): Promise<Record<string, unknown>> {
  let listener!: (message: Record<string, unknown>) => void;
  return within(
    new Promise<Record<string, unknown>>((resolve) => {
      listener = (message) => {
        if (message?.type === type) resolve(message);
      };
      worker.on('message', listener);
    }),
    ms,
    `worker ${worker.id} "${type}"`,
  ).finally(() => worker.off('message', listener));
}

async function serverCount(worker: Worker): Promise<number> {
  const reply = nextMessage(worker, 'test:serverCount', 2000);
  worker.send({ type: 'test:serverCount' });
  return (await reply).count as number;
}

/** Resolves once `worker` counts `count` servers; asked every 50 ms, for at most 5 s. */
async function counts(worker: Worker, count: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await serverCount(worker)) === count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`worker ${worker.id} does not count ${count} servers`);
}

test('a worker SIGKILLed is counted out after the heartbeat timeout, and the one started in its place is counted in', { timeout: 30000 }, async (t) => {
  setupAdapterPrimary();
  cluster.setupPrimary({ exec: WORKER, execArgv: ['--import', 'tsx'], serialization: 'advanced' });
  const faults: unknown[] = [];
  const fork = (): Worker => {
    const worker = cluster.fork({ WORKERS: '2', WORKER_LIFETIME_MS: '30000', HEARTBEAT_MS: String(HEARTBEAT_MS), REPORT_FAULTS: '1' });
    worker.on('message', (message: { type?: string }) => {
      if (message?.type === 'test:fault') faults.push(message);
    });
    t.after(async () => {
      if (worker.isDead()) return;
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      worker.process.kill('SIGKILL');
      await within(exited, 5000, `worker ${worker.id} exit`);
    });
    return worker;
  };
  const [survivor, victim] = [fork(), fork()];
  await Promise.all([nextMessage(survivor, 'test:ready', 20000), nextMessage(victim, 'test:ready', 20000)]);
  assert.equal(await serverCount(survivor), 2);

  const exited = new Promise<void>((resolve) => victim.once('exit', () => resolve()));
  victim.process.kill('SIGKILL');
  await within(exited, 5000, 'victim exit');
  // no goodbye from a killed worker: the survivor notices the missing heartbeats
  await counts(survivor, 1);

  const replacement = fork();
  // ready: the replacement counts both, having heard the survivor answer its first heartbeat
  await nextMessage(replacement, 'test:ready', 20000);
  await counts(survivor, 2);
  assert.deepEqual(faults, []);
});
