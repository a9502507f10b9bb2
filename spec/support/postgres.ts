// A private PostgreSQL per test file (initdb into a temp dir, a free loopback port, fsync off), a fresh
// database per test, and the official Postgres adapter on it; killed by its pid, its dir removed.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { createAdapter } from '@socket.io/postgres-adapter';
import { Client, Pool, type ClientConfig } from 'pg';
import type { AdapterConstructor } from '../../lib/index';
import type { Rig } from './cluster';
import { within } from './wait';
import { freePort } from './free-port';

export interface PostgresServer {
  readonly port: number;
  readonly pid: number;
  /** Stops the server (fast shutdown, SIGKILL after 5 s), waits for it, removes its dir; runs once. */
  stop(): Promise<void>;
}

/** One test's database on a PostgreSQL of ours, with the adapter's table. */
export interface PostgresDatabase {
  readonly name: string;
  readonly config: ClientConfig;
}

/** The adapter's heartbeat in the tests: a node that missed its peer's answer to its first heartbeat hears the next one soon. */
export const HEARTBEAT_MS = 200;

const running = new Map<ChildProcess, string>();
// a test process that dies (uncaught error, Ctrl-C) must not leave a postgres or its data dir behind
process.once('exit', () => {
  for (const [child, dir] of running) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

function hasServer(dir: string): boolean {
  return existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'));
}

let binDir: string | null | undefined;

/** The directory with `initdb` and `postgres`: pg_config's, Debian's newest, or one on PATH; undefined if none. */
export function postgresBinDir(): string | undefined {
  if (binDir !== undefined) return binDir ?? undefined;
  const candidates: string[] = [];
  try {
    candidates.push(execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    // no pg_config: the client headers are not installed, the server may still be
  }
  try {
    const versions = readdirSync('/usr/lib/postgresql').sort((x, y) => Number(y) - Number(x));
    candidates.push(...versions.map((v) => `/usr/lib/postgresql/${v}/bin`));
  } catch {
    // not Debian's layout
  }
  candidates.push(...(process.env.PATH ?? '').split(delimiter).filter(Boolean));
  binDir = candidates.find(hasServer) ?? null;
  return binDir ?? undefined;
}

/**
 * Why the Postgres tests cannot run here, or undefined when they can. Under CI never a reason: .ci/run
 * installs PostgreSQL, so a missing one must fail the tests, not skip them.
 */
export function postgresMissing(): string | undefined {
  if (process.env.CI || postgresBinDir()) return undefined;
  return 'PostgreSQL (initdb, postgres) is not installed (apt-get install postgresql; .ci/run does it)';
}

interface RunAs {
  uid: number;
  gid: number;
}

/** PostgreSQL refuses to run as root: as root, initdb and postgres run as the `postgres` user, else `nobody`. */
function unprivileged(): RunAs | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const id = (flag: string): number => Number(execFileSync('id', [flag, name], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { uid: id('-u'), gid: id('-g') };
    } catch {
      // no such user: try the next
    }
  }
  throw new Error('running as root with neither a "postgres" nor a "nobody" user: PostgreSQL refuses to run as root');
}

/** Spawns postgres on `port` over `data`; resolves once it accepts connections. */
function spawnOn(bin: string, dir: string, port: number, runAs: RunAs | undefined): Promise<ChildProcess> {
  const args = ['-D', join(dir, 'data'), '-k', dir, '-h', '127.0.0.1', '-p', String(port)];
  // a throwaway server: no durability, no background work it does not need
  for (const setting of ['fsync=off', 'synchronous_commit=off', 'full_page_writes=off', 'autovacuum=off', 'shared_buffers=16MB']) args.push('-c', setting);
  const child = spawn(join(bin, 'postgres'), args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], ...runAs });
  running.set(child, dir);
  child.once('exit', () => running.delete(child));
  let output = '';
  let isReady = false;
  const ready = new Promise<ChildProcess>((resolve, reject) => {
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      // once ready, the log is not kept: a long test file must not grow this string
      if (isReady) return;
      output += chunk;
      if (output.includes('ready to accept connections')) {
        isReady = true;
        resolve(child);
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`postgres on port ${port} exited (${code ?? signal}): ${output}`.trim())));
  });
  return within(ready, 15000, `postgres on port ${port}`).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
}

/**
 * initdb into a fresh temp dir, then `postgres -D dir -k dir -h 127.0.0.1 -p <free port>` with fsync off,
 * as an unprivileged user when we are root (never the system service). A port taken between the check
 * and the spawn is retried, at most 5 times. The caller stops it (stop()) when its tests are done.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(postgresMissing() ?? 'PostgreSQL is not installed');
  const runAs = unprivileged();
  const dir = mkdtempSync(join(tmpdir(), 'express-socket.io-pg-'));
  let child: ChildProcess | undefined;
  let port = 0;
  try {
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    const initdb = ['-D', join(dir, 'data'), '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'];
    await promisify(execFile)(join(bin, 'initdb'), initdb, { cwd: dir, timeout: 60000, ...runAs });
    let lastError: unknown;
    for (let attempt = 0; attempt < 5 && !child; attempt++) {
      port = await freePort();
      child = await spawnOn(bin, dir, port, runAs).catch((err: unknown) => {
        lastError = err;
        return undefined;
      });
    }
    if (!child) throw lastError;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const server = child;
  const exited = new Promise<void>((resolve) => {
    if (server.exitCode !== null || server.signalCode !== null) resolve();
    else server.once('exit', () => resolve());
  });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      server.kill('SIGINT'); // fast shutdown: ends the sessions, no waiting for clients
      const killer = setTimeout(() => server.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
      rmSync(dir, { recursive: true, force: true });
    })());
  return { port, pid: server.pid as number, stop };
}

let databases = 0;

/** A new database on `server` (so no notification of an earlier test reaches this one) with the adapter's table. */
export async function createDatabase(server: PostgresServer): Promise<PostgresDatabase> {
  const name = `socketio_${process.pid}_${++databases}`;
  const base = { host: '127.0.0.1', port: server.port, user: 'postgres', connectionTimeoutMillis: 5000 };
  const run = async (database: string, sql: string): Promise<void> => {
    const client = new Client({ ...base, database });
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run('postgres', `CREATE DATABASE ${name}`);
  // the table the package README has its users create: payloads with binary or over payloadThreshold
  await run(name, 'CREATE TABLE IF NOT EXISTS socket_io_attachments (id bigserial UNIQUE, created_at timestamptz DEFAULT NOW(), payload bytea)');
  return { name, config: { ...base, database: name } };
}

/**
 * `@socket.io/postgres-adapter` createAdapter(pool) for one node, with its own pool (ended by the rig,
 * after the node). `max: 2`: one connection LISTENs, the other sends every NOTIFY, so a node's messages
 * reach the others in the order it sent them (with more, two emits in a row may race; docs/scaling.md).
 */
export function postgresAdapter(rig: Rig, db: PostgresDatabase): AdapterConstructor {
  const pool = new Pool({ ...db.config, max: 2 });
  pool.on('error', () => {});
  rig.defer(() => pool.end());
  return createAdapter(pool, { heartbeatInterval: HEARTBEAT_MS });
}
