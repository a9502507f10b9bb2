// Check mode: the same scripted session against each server; the first N frames each one sends are
// compared after masking what is random (ids, the offset epoch). Ours and the ceiling must match byte for
// byte in length and content; the differences from socket.io are listed (no pid, no offsets, 20-char ids).
import type { Child } from './spawn';
import type { ServerName } from './run';

export interface CheckOptions {
  frames: number;
  servers: ServerName[];
  start(name: ServerName): Promise<{ child: Child; ready: Record<string, unknown> }>;
  generator(server: Child, port: number): Promise<Child>;
  log(line: string): void;
}

/** Random parts masked, lengths kept: `"sid":"<id:21>"`, offsets `"<epoch:8>.1"`. */
export function normalizeFrame(frame: string): string {
  return frame
    .replace(/"(sid|pid)":"([A-Za-z0-9_-]+)"/g, (_m, key: string, id: string) => `"${key}":"<id:${id.length}>"`)
    .replace(/"([0-9a-f]{8})\.([0-9a-z]+)"/g, (_m, epoch: string, n: string) => `"<epoch:${epoch.length}>.${n}"`);
}

async function captureFrom(opts: CheckOptions, name: ServerName, transport: 'websocket' | 'polling'): Promise<Record<string, string[]>> {
  const { child, ready } = await opts.start(name);
  let gen: Child | undefined;
  try {
    gen = await opts.generator(child, Number(ready.port));
    return await gen.call<Record<string, string[]>>('capture', { transport, frames: opts.frames }, 30_000);
  } finally {
    await child.stop();
    await gen?.stop();
  }
}

export async function runCheck(opts: CheckOptions): Promise<boolean> {
  let identical = true;
  for (const transport of ['websocket', 'polling'] as const) {
    const captured: Partial<Record<ServerName, Record<string, string[]>>> = {};
    for (const name of opts.servers) captured[name] = await captureFrom(opts, name, transport);
    const ours = captured.ours;
    if (!ours) throw new Error('--check needs ours among --servers');
    for (const stream of Object.keys(ours)) {
      const mine = ours[stream];
      process.stdout.write(`\n== ${transport}, ${stream}: first ${mine.length} frames from ours (ids and offset epoch masked)\n`);
      mine.forEach((f, i) => process.stdout.write(`  ${String(i + 1).padStart(2)}  ${normalizeFrame(f)}\n`));
      for (const other of opts.servers.filter((s) => s !== 'ours')) {
        const theirs = captured[other]?.[stream] ?? [];
        const diffs: string[] = [];
        for (let i = 0; i < Math.max(mine.length, theirs.length); i++) {
          const a = mine[i];
          const b = theirs[i];
          const same = a !== undefined && b !== undefined && normalizeFrame(a) === normalizeFrame(b) && a.length === b.length;
          if (!same) diffs.push(`  ${String(i + 1).padStart(2)}  ours:  ${a === undefined ? '(none)' : normalizeFrame(a)}\n      ${other.padEnd(5)}: ${b === undefined ? '(none)' : normalizeFrame(b)}`);
        }
        if (diffs.length === 0) process.stdout.write(`  ${other}: identical (${mine.length} frames, same bytes once ids are masked, same lengths)\n`);
        else {
          process.stdout.write(`  ${other}: ${diffs.length} frame(s) differ\n${diffs.join('\n')}\n`);
          if (other === 'ceiling') identical = false;
        }
      }
    }
  }
  process.stdout.write(`\n${identical ? 'OK: the ceiling sends what ours sends' : 'MISMATCH: the ceiling does not send what ours sends'}\n`);
  return identical;
}
