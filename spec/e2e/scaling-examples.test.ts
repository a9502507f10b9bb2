// docs/scaling.md's examples run as written (spec/fixtures/scaling-*.ts, each checked equal to the page's code
// block): the Node cluster (two workers behind @socket.io/sticky) and two Redis nodes in processes of their own.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { closeClient, connected } from '../support/io';
import { redisMissing, startRedis } from '../support/redis';
import { once, within } from '../support/wait';

const ROOT = join(__dirname, '..', '..');
const CLUSTER = join(ROOT, 'spec', 'fixtures', 'scaling-cluster.ts');
const NODE = join(ROOT, 'spec', 'fixtures', 'scaling-node.ts');

/** The fixture as the page shows it: the package's name instead of the path to lib/. */
function asDocumented(file: string): string {
  return readFileSync(file, 'utf8').replace("from '../../lib/index';", "from 'express-socket.io';");
}

/** The page's code block that starts with `firstLine`. */
function blockOf(page: string, firstLine: string): string | undefined {
  for (const [, code] of page.matchAll(/```ts\n([\s\S]*?)```/g)) if (code.startsWith(`${firstLine}\n`)) return code;
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs an example (`node --import tsx <file>`) on 127.0.0.1, port 0; resolves with its port once it printed
 * `listening on <port>` and `workers` lines `worker <pid> ready`. Ended by pid when the test ends: the
 * process first (cluster workers exit when their primary's IPC channel closes), then any worker left.
 */
async function runExample(t: TestContext, file: string, env: Record<string, string>, workers = 0): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pids: number[] = [];
  let output = '';
  t.after(async () => {
    const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
    child.kill('SIGTERM');
    await within(exited, 5000, `${file} exit`).catch(() => child.kill('SIGKILL'));
    for (let i = 0; i < 100 && pids.some(isAlive); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    for (const pid of pids.filter(isAlive)) process.kill(pid, 'SIGKILL');
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    if (output.length < 20_000) output += chunk;
  });
  return within(
    new Promise<number>((resolve, reject) => {
      child.stdout?.setEncoding('utf8');
      child.stdout?.on('data', (chunk: string) => {
        if (output.length < 20_000) output += chunk;
        const port = Number(/listening on (\d+)/.exec(output)?.[1] ?? 0);
        pids.splice(0, pids.length, ...[...output.matchAll(/worker (\d+) ready/g)].map((m) => Number(m[1])));
        if (port && pids.length >= workers) resolve(port);
      });
      child.once('exit', (code) => reject(new Error(`${file} exited (${code}): ${output}`)));
    }),
    20000,
    `${file} up`,
  );
}

/** A polling-only official client, not reconnecting; closed when the test ends. */
function pollingClient(t: TestContext, url: string): ClientSocket {
  const client = ioClient(url, { forceNew: true, reconnection: false, transports: ['polling'] });
  t.after(() => closeClient(client));
  return client;
}

describe('docs/scaling.md', () => {
  test('shows the code of spec/fixtures/scaling-cluster.ts and scaling-node.ts as it is', () => {
    const page = readFileSync(join(ROOT, 'docs', 'scaling.md'), 'utf8');
    for (const file of [CLUSTER, NODE]) {
      const code = asDocumented(file);
      assert.equal(blockOf(page, code.split('\n')[0]), code, file);
    }
  });

  test('the Node cluster example keeps each polling client on one worker and broadcasts across both', { timeout: 60000 }, async (t) => {
    const url = `http://127.0.0.1:${await runExample(t, CLUSTER, { WORKERS: '2' }, 2)}`;
    // sticky learns where a session lives from its worker's IPC message, which races the client's first
    // request with the new sid (docs/scaling.md): a client that lost is closed and another one tried.
    // Clients are added until both workers have one, at most 10.
    const byWorker = new Map<number, ClientSocket>();
    for (let attempt = 0; byWorker.size < 2; attempt++) {
      assert.ok(attempt < 10, `a client on each worker within 10 attempts (${byWorker.size} so far)`);
      const client = pollingClient(t, url);
      try {
        await connected(client, 5000);
        const pid = (await client.timeout(5000).emitWithAck('whoami')) as number;
        if (byWorker.has(pid)) closeClient(client);
        else byWorker.set(pid, client);
      } catch {
        closeClient(client);
      }
    }
    // every request of a session reaches the worker that holds it: the answers stay the same
    for (const [pid, client] of byWorker) {
      for (let i = 0; i < 5; i++) assert.equal(await client.timeout(5000).emitWithAck('whoami'), pid);
    }
    const [[pidA, clientA], [, clientB]] = [...byWorker];
    const got = [once(clientA, 'news', 5000), once(clientB, 'news', 5000)];
    clientA.emit('shout', 'hello');
    for (const args of await Promise.all(got)) assert.deepEqual(args.slice(0, 2), ['hello', pidA]);
  });

  test('two nodes of the Redis example in processes of their own reach each other\'s clients', { timeout: 60000, skip: redisMissing() }, async (t) => {
    const redis = await startRedis(t);
    const ports = [await runExample(t, NODE, { REDIS_URL: redis.url }), await runExample(t, NODE, { REDIS_URL: redis.url })];
    const [clientA, clientB] = ports.map((port) => pollingClient(t, `http://127.0.0.1:${port}`));
    await Promise.all([connected(clientA), connected(clientB)]);
    const pidA = (await clientA.timeout(5000).emitWithAck('whoami')) as number;
    assert.notEqual(await clientB.timeout(5000).emitWithAck('whoami'), pidA);
    // node B may still be subscribing when the first shout goes out: shout again, at most 5 times
    let heard: unknown[] | undefined;
    for (let i = 0; i < 5 && !heard; i++) {
      const got = once(clientB, 'news', 1000);
      clientA.emit('shout', `hello ${i}`);
      heard = await got.catch(() => undefined);
    }
    assert.deepEqual(heard?.slice(1, 2), [pidA]);
  });
});
