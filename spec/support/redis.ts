// A private redis-server per test: a free loopback port, no persistence, killed by its pid in t.after.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import { createClient } from 'redis';
import { within } from './wait';
import { freePort } from './free-port';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly pid: number;
  /** Kills the server (SIGTERM, SIGKILL after 2 s) and waits for it to exit; runs once. */
  stop(): Promise<void>;
}

/** node-redis client type (v4/v5), as createClient returns it. */
export type NodeRedisClient = ReturnType<typeof createClient>;

const running = new Set<ChildProcess>();
// a test process that dies (uncaught error, Ctrl-C) must not leave redis-servers behind
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** `redis-server --version` as [major, minor, patch], or undefined when redis-server is not installed. */
export function redisVersion(): [number, number, number] | undefined {
  try {
    const out = execFileSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 5000 });
    const m = /v=(\d+)\.(\d+)\.(\d+)/.exec(out);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
  } catch {
    return undefined;
  }
}

/** Why the Redis tests cannot run here, or undefined when they can. */
export function redisMissing(): string | undefined {
  // in CI a missing redis-server must fail the run, not skip it (.ci/run installs it)
  return process.env.CI || redisVersion() ? undefined : 'redis-server is not installed (apt-get install redis-server; .ci/run does it)';
}

/** Spawns a redis-server on `port` (killed when the test process exits); resolves once it accepts connections. */
export function spawnOn(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes', '--loglevel', 'notice'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  let isReady = false;
  const ready = new Promise<ChildProcess>((resolve, reject) => {
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      // once ready, the log is not kept: a long test must not grow this string
      if (isReady) return;
      output += chunk;
      if (output.includes('Ready to accept connections')) {
        isReady = true;
        resolve(child);
      }
    });
    child.stderr?.resume();
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`redis-server on port ${port} exited (${code ?? signal}): ${output}`.trim())));
  });
  return within(ready, 5000, `redis-server on port ${port}`).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
}

/**
 * Starts `redis-server --port <free port> --bind 127.0.0.1 --save '' --appendonly no` (never the system
 * service) and kills it by pid when the test ends. The port is found free just before the spawn, so a
 * race with another process is retried, at most 5 times.
 */
export async function startRedis(t: TestContext): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    let child: ChildProcess;
    try {
      child = await spawnOn(port);
    } catch (err) {
      lastError = err;
      continue;
    }
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        process.kill(child.pid as number, 'SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(killer);
      })());
    t.after(stop);
    return { port, url: `redis://127.0.0.1:${port}`, pid: child.pid as number, stop };
  }
  throw lastError;
}

/**
 * A connected node-redis client that does not try to reconnect (the server dies with the test). Its
 * errors are kept, not thrown: a test that cares reads `errors`. Closing is the caller's (see Rig).
 */
export async function connectNodeRedis(url: string): Promise<NodeRedisClient> {
  const client = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 3000 } });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Closes a node-redis client: gracefully when it is still open, at once otherwise. */
export async function closeNodeRedis(client: NodeRedisClient): Promise<void> {
  if (!client.isOpen) return;
  try {
    await within(client.close(), 2000, 'redis client close');
  } catch {
    client.destroy();
  }
}
