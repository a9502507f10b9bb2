// A private redis-server for the Redis scenarios: a free loopback port, no persistence, pinned away from the
// measured server's CPU, killed by its pid when the run ends (never the system service).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import type { Pinning } from './spawn';

export interface BenchRedis {
  readonly url: string;
  readonly pid: number;
  /** SIGTERM, SIGKILL after 2 s; resolves once the process is gone. Runs once. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
// a harness that dies (Ctrl-C, an uncaught error) must not leave redis-servers behind
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** `redis-server --version`, or undefined when it is not installed. */
export function redisServerVersion(): string | undefined {
  const out = spawnSync('redis-server', ['--version'], { encoding: 'utf8', timeout: 5000 });
  return out.status === 0 ? /v=(\S+)/.exec(out.stdout)?.[1] : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function spawnOn(port: number, cpu: number | undefined, pinning: Pinning): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'];
  const pin = pinning.enabled && cpu !== undefined ? ['taskset', '-c', String(cpu)] : [];
  const [command, ...rest] = [...pin, 'redis-server', ...args];
  const child = spawn(command, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  return new Promise<ChildProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} not ready within 5 s: ${output}`));
    }, 5000);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      if (output.length < 10_000) output += chunk;
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        // nothing more is read from its log: drain it
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve(child);
      }
    });
    child.stderr?.resume();
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on port ${port} exited (${code ?? signal}): ${output.trim()}`));
    });
  });
}

/**
 * Starts `redis-server` on a free 127.0.0.1 port (pinned to `cpu` when pinning is on). The port is found
 * free just before the spawn; a race with another process is retried, at most 5 times.
 */
export async function startBenchRedis(cpu: number | undefined, pinning: Pinning): Promise<BenchRedis> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    let child: ChildProcess;
    try {
      child = await spawnOn(port, cpu, pinning);
    } catch (err) {
      lastError = err;
      continue;
    }
    const pid = child.pid as number;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // already gone
        }
        const killer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(killer);
      })());
    return { url: `redis://127.0.0.1:${port}`, pid, stop };
  }
  throw lastError;
}
