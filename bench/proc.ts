// Reads a process's CPU time (user and system separately) and resident memory from /proc.
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on every Linux build in use). */
const TICKS_PER_SECOND = 100;

export interface CpuSample {
  /** ms of user time, all threads (GC helpers included). */
  userMs: number;
  /** ms of system time, all threads. */
  systemMs: number;
  /** performance.now() when read. */
  at: number;
}

/** utime / stime of the whole thread group (fields 14 and 15 of /proc/<pid>/stat). */
export function readCpu(pid: number): CpuSample {
  const text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  // the command name may hold spaces and parentheses: count fields after its closing parenthesis
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15
  return {
    userMs: (Number(fields[11]) * 1000) / TICKS_PER_SECOND,
    systemMs: (Number(fields[12]) * 1000) / TICKS_PER_SECOND,
    at: performance.now(),
  };
}

/** CPU used between two samples, ms. */
export function cpuDelta(a: CpuSample, b: CpuSample): { userMs: number; systemMs: number; totalMs: number; wallMs: number } {
  const userMs = b.userMs - a.userMs;
  const systemMs = b.systemMs - a.systemMs;
  return { userMs, systemMs, totalMs: userMs + systemMs, wallMs: b.at - a.at };
}

/** VmRSS of /proc/<pid>/status, bytes (undefined once the process is gone). */
export function readRss(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Busy time of each CPU and of all of them, ms (/proc/stat: everything but idle and iowait). */
export interface MachineSample {
  perCpuMs: number[];
  totalMs: number;
}

export function readMachine(): MachineSample {
  const perCpuMs: number[] = [];
  let totalMs = 0;
  for (const line of readFileSync('/proc/stat', 'latin1').split('\n')) {
    const m = /^cpu(\d*)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user, nice, system, , , irq, softirq, steal] = m[2].split(/\s+/).map(Number);
    const busyMs = ((user + nice + system + irq + softirq + (steal || 0)) * 1000) / TICKS_PER_SECOND;
    if (m[1] === '') totalMs = busyMs;
    else perCpuMs[Number(m[1])] = busyMs;
  }
  return { perCpuMs, totalMs };
}
