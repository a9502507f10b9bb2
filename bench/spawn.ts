// Child processes of the harness: pinned to one CPU with taskset, fd limit raised through the shell,
// talked to over IPC with bounded request/answer calls.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface Pinning {
  /** taskset is there and the machine has the CPUs asked for. */
  readonly enabled: boolean;
  readonly warning: string | undefined;
}

export function detectPinning(cpusNeeded: number, disabled: boolean): Pinning {
  if (disabled) return { enabled: false, warning: 'CPU pinning disabled by --no-pin' };
  const probe = spawnSync('taskset', ['-c', '0', 'true']);
  if (probe.error || probe.status !== 0) {
    return { enabled: false, warning: 'taskset not found (install util-linux): server and generator run unpinned' };
  }
  const cpus = spawnSync('nproc', [], { encoding: 'utf8' });
  const n = Number(cpus.stdout?.trim());
  if (!(n >= cpusNeeded)) return { enabled: false, warning: `only ${n} CPU(s): server and generator run unpinned` };
  return { enabled: true, warning: undefined };
}

/** The hard limit on open files the shell can raise the soft limit to. */
export function hardFdLimit(): number {
  const out = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout?.trim();
  if (out === 'unlimited') return 1_048_576;
  const n = Number(out);
  return Number.isFinite(n) && n > 0 ? n : 1024;
}

/** Pins this very process (the harness) to `cpu`, away from the server's. */
export function pinSelf(cpu: number, pinning: Pinning): void {
  if (pinning.enabled) spawnSync('taskset', ['-pc', String(cpu), String(process.pid)], { stdio: 'ignore' });
}

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves with the exit code (or signal name) once the process is gone. */
  readonly exited: Promise<number | string>;
  /** Sends `{ cmd, ...args }` with a fresh id; resolves with its answer's result. */
  call<T>(cmd: string, args?: Record<string, unknown>, timeoutMs?: number): Promise<T>;
  /** The first message without an id that `accept` takes. */
  next<T>(accept: (msg: Record<string, unknown>) => boolean, timeoutMs: number): Promise<T>;
  /** Asks it to exit, then kills it (by its pid) if it has not within the grace period. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  script: string;
  nodeArgs?: string[];
  cpu?: number;
  pinning: Pinning;
  fdLimit: number;
  env?: Record<string, string>;
  cwd: string;
}

export function spawnNode(opts: SpawnOptions): Child {
  const pin = opts.pinning.enabled && opts.cpu !== undefined ? ['taskset', '-c', String(opts.cpu)] : [];
  // the shell raises the soft fd limit, then is replaced by taskset, then by node: one pid throughout
  const proc = spawn(
    'sh',
    ['-c', `ulimit -n ${opts.fdLimit} 2>/dev/null; exec "$@"`, 'sh', ...pin, process.execPath, ...(opts.nodeArgs ?? []), opts.script],
    { cwd: opts.cwd, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, ...opts.env } },
  );
  if (proc.pid === undefined) throw new Error(`could not start ${opts.name}`);
  const pid = proc.pid;
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  const waiters: Array<{ accept: (msg: Record<string, unknown>) => boolean; resolve: (v: unknown) => void }> = [];
  let exitedWith: number | string | undefined;
  const exited = new Promise<number | string>((resolve) => {
    proc.on('exit', (code, signal) => {
      exitedWith = code ?? signal ?? 'unknown';
      for (const [, p] of pending) {
        clearTimeout(p.timer);
        p.reject(new Error(`${opts.name} exited (${String(exitedWith)})`));
      }
      pending.clear();
      resolve(exitedWith);
    });
  });
  proc.on('message', (raw) => {
    const msg = raw as Record<string, unknown>;
    if (typeof msg.id === 'number') {
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      clearTimeout(p.timer);
      if (msg.error !== undefined) p.reject(new Error(`${opts.name}: ${String(msg.error)}`));
      else p.resolve(msg.result);
      return;
    }
    const i = waiters.findIndex((w) => w.accept(msg));
    if (i !== -1) waiters.splice(i, 1)[0].resolve(msg);
  });
  const child: Child = {
    name: opts.name,
    proc,
    pid,
    exited,
    call<T>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
      if (exitedWith !== undefined) return Promise.reject(new Error(`${opts.name} has exited`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${opts.name}: "${cmd}" took longer than ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        proc.send({ id, cmd, ...args });
      });
    },
    next<T>(accept: (msg: Record<string, unknown>) => boolean, timeoutMs: number): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const waiter = { accept, resolve: resolve as (v: unknown) => void };
        waiters.push(waiter);
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i !== -1) waiters.splice(i, 1);
          reject(new Error(`${opts.name}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`${opts.name} exited before answering`));
        }, () => {});
        const settle = waiter.resolve;
        waiter.resolve = (v) => {
          clearTimeout(timer);
          settle(v);
        };
      });
    },
    async stop(graceMs = 5000): Promise<void> {
      if (exitedWith !== undefined) return;
      try {
        await child.call('stop', {}, graceMs);
      } catch {
        // answered or not, it goes
      }
      const timer = new Promise((resolve) => setTimeout(resolve, graceMs, 'timeout'));
      if ((await Promise.race([exited, timer])) === 'timeout') {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
        await exited;
      }
    },
  };
  return child;
}
