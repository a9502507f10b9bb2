// `npm run bench [-- --quick] [--check] [--heap[=N]] [--profile[=missed|all|a,b]] [--profile-server=S] [--only=a,b] [--reps=N] [--servers=a,b] [--no-pin]`
// Runs every scenario against three servers (ours, official socket.io, the raw ceiling), each a fresh
// process per scenario and repetition pinned to CPU 0, the load generator pinned to CPU 1; prints the
// table of medians and paired ratios, writes raw JSON (and the tables as Markdown) to bench/results/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { compile } from './build';
import { runCheck } from './check';
import { perConnection, Snapshot, type HeapClass } from './heap';
import { summarizeProfile, type ProfileSummary } from './profile';
import { redisServerVersion } from './redis';
import {
  ALL_SERVERS,
  DEFAULT_SERVERS,
  FULL,
  GENERATOR_CPU,
  interferenceOf,
  NO_CEILING,
  QUICK,
  ROOT,
  runOne,
  SCENARIO_NAMES,
  SERVER_CPU,
  serverInfo,
  sleep,
  startGenerator,
  startServer,
  type Config,
  type Env,
  type PhaseHooks,
  type RunRecord,
  type ScenarioName,
  type ServerName,
} from './scenarios';
import { detectPinning, hardFdLimit, pinSelf } from './spawn';
import { fmt, markdownTable, textTable } from './stats';
import { deriveGrowth, interference, scenarioOfKey, summarize, tableCells, tableHeader } from './summary';

export type { ServerName } from './scenarios';

// --- command line ---

interface Cli {
  quick: boolean;
  check: boolean;
  frames: number;
  profile: string | undefined;
  only: ScenarioName[] | undefined;
  reps: number | undefined;
  servers: ServerName[];
  noPin: boolean;
  /** Heap snapshots before and after this many idle connections, per server. */
  heap: number | undefined;
  /** Which server --profile profiles (ours unless told). */
  profileServer: ServerName;
}

function parseCli(argv: string[]): Cli {
  const cli: Cli = { quick: false, check: false, frames: 12, profile: undefined, only: undefined, reps: undefined, servers: [...DEFAULT_SERVERS], noPin: false, heap: undefined, profileServer: 'ours' };
  for (const arg of argv) {
    const [flag, value] = arg.split('=', 2);
    if (flag === '--quick') cli.quick = true;
    else if (flag === '--check') cli.check = true;
    else if (flag === '--frames') cli.frames = Number(value);
    else if (flag === '--profile') cli.profile = value ?? 'missed';
    else if (flag === '--profile-server') cli.profileServer = value as ServerName;
    else if (flag === '--no-pin') cli.noPin = true;
    else if (flag === '--heap') cli.heap = value === undefined ? 1000 : Number(value);
    else if (flag === '--reps') cli.reps = Number(value);
    else if (flag === '--only') cli.only = value.split(',').map((s) => s.trim()) as ScenarioName[];
    else if (flag === '--servers') cli.servers = value.split(',').map((s) => s.trim()) as ServerName[];
    else throw new Error(`unknown option ${arg} (see the first line of bench/run.ts)`);
  }
  for (const s of cli.only ?? []) if (!SCENARIO_NAMES.includes(s)) throw new Error(`unknown scenario ${s}: one of ${SCENARIO_NAMES.join(', ')}`);
  for (const s of cli.servers) if (!ALL_SERVERS.includes(s)) throw new Error(`unknown server ${s}: one of ${ALL_SERVERS.join(', ')}`);
  return cli;
}

// --- environment ---

interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
}

function machine(): Machine {
  const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  return { nproc: cpus().length, cpuModel: model, memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10, node: process.version, kernel: release() };
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

// --- profiles ---

async function profileScenario(env: Env, scenario: ScenarioName, dir: string, server: ServerName): Promise<ProfileSummary | undefined> {
  const file = join(dir, `${server === 'ours' ? '' : `${server}-`}${scenario}.cpuprofile`);
  const hooks: PhaseHooks = {
    before: async (server) => {
      await server.call('profile-start', { intervalUs: 200 });
    },
    after: async (server) => {
      await server.call('profile-stop', { file }, 120_000);
    },
  };
  env.log(`  profiling ${server}: ${scenario}`);
  const record = await runOne(env, scenario, server, 0, 0, hooks);
  if (record.error) return undefined;
  return summarizeProfile(file, ROOT);
}

// --- heap breakdown ---

async function heapBreakdown(env: Env, servers: ServerName[], n: number, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const result: Partial<Record<ServerName, { total: number; classes: HeapClass[] }>> = {};
  for (const name of servers) {
    env.log(`heap snapshots of ${name}: before and after ${n} idle connections`);
    const { child: server, ready } = await startServer(env, name);
    const gen = await startGenerator(env, server, Number(ready.port));
    try {
      const before = join(dir, `${name}-0.heapsnapshot`);
      const after = join(dir, `${name}-${n}.heapsnapshot`);
      await server.call('heap-snapshot', { file: before }, 120_000);
      await gen.call('connect', { count: n, concurrency: env.cfg.connectConcurrency }, 6 * 60_000);
      await sleep(env.cfg.settleMs);
      await server.call('heap-snapshot', { file: after }, 120_000);
      const classes = perConnection(new Snapshot(before), new Snapshot(after), n);
      result[name] = { total: classes.reduce((a, c) => a + c.bytes, 0), classes };
      rmSync(before);
      rmSync(after);
    } finally {
      await server.stop();
      await gen.stop();
    }
  }
  writeFileSync(join(dir, 'breakdown.json'), JSON.stringify(result, null, 2));
  for (const [name, r] of Object.entries(result)) {
    process.stdout.write(`\n${name}: ${fmt(r.total)} bytes of heap objects per idle connection (self sizes, ${n} connections)\n`);
    process.stdout.write(
      `${textTable(['constructor / kind', 'objects per conn', 'bytes per conn'], r.classes.slice(0, 30).map((c) => [c.name, fmt(c.count), fmt(c.bytes)]))}\n`,
    );
    process.stdout.write('held by (largest classes; closest holder first, share of the class bytes):\n');
    for (const c of r.classes.filter((x) => x.heldBy)) {
      for (const h of c.heldBy ?? []) process.stdout.write(`  ${c.name.padEnd(36)} ${(100 * h.share).toFixed(0).padStart(3)}%  ${h.chain}\n`);
    }
  }
  process.stdout.write(`\nraw: ${relative(ROOT, join(dir, 'breakdown.json'))}\n`);
}

// --- main ---

async function main(): Promise<void> {
  const cli = parseCli(process.argv.slice(2));
  const base = cli.quick ? QUICK : FULL;
  const cfg: Config = { ...base, idleSizes: [...base.idleSizes], reps: cli.reps ?? base.reps };
  const warnings: string[] = [];
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const pinning = detectPinning(2, cli.noPin);
  if (pinning.warning) warnings.push(pinning.warning);
  pinSelf(GENERATOR_CPU, pinning);
  const fdLimit = hardFdLimit();
  // each connection takes one fd in the server and one in the generator; keep room for the rest
  const maxConnections = Math.floor((fdLimit - 1000) / 1000) * 1000;
  const capped = (n: number): number => Math.min(n, maxConnections);
  if (cfg.idleSizes.some((n) => n > maxConnections) || cfg.growthSize > maxConnections) {
    warnings.push(
      `open-file limit ${fdLimit} (hard) allows ~${maxConnections} connections per process: ` +
        `idle points ${cfg.idleSizes.filter((n) => n > maxConnections).join(', ') || '–'} capped to ${maxConnections}`,
    );
    cfg.idleSizes = [...new Set(cfg.idleSizes.map(capped))];
    cfg.growthSize = capped(cfg.growthSize);
  }
  for (const w of warnings) log(`warning: ${w}`);

  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  log(`compiling lib/ and bench/ into bench/.build …`);
  const complaints = await compile(ROOT);
  if (complaints.length > 0) warnings.push(`tsc reported ${complaints.length} error(s) in lib/ (compiled anyway): ${complaints[0]}`);
  for (const c of complaints.slice(0, 5)) log(`  tsc: ${c}`);
  const env: Env = { cfg, pinning, fdLimit, log };

  if (cli.check) {
    const ok = await runCheck({
      frames: cli.frames,
      servers: cli.servers,
      start: (name) => startServer(env, name),
      generator: (server, port) => startGenerator(env, server, port),
      log,
    });
    process.exitCode = ok ? 0 : 1;
    return;
  }

  if (cli.heap !== undefined) {
    await heapBreakdown(env, cli.servers, cli.heap, join(resultsDir, `${stamp}-heap`));
    return;
  }

  let scenarios = cli.only ?? [...SCENARIO_NAMES];
  if (scenarios.includes('redis-broadcast') && !redisServerVersion()) {
    warnings.push('redis-server is not installed (apt-get install redis-server): the redis-broadcast scenario is left out');
    log(`warning: ${warnings[warnings.length - 1]}`);
    scenarios = scenarios.filter((s) => s !== 'redis-broadcast');
  }
  const servers = cli.servers;
  const runs: RunRecord[] = [];
  const t0 = Date.now();
  {
    // --reps=0 with --profile=<scenarios> only profiles
    for (const scenario of scenarios) {
      for (let rep = 0; rep < cfg.reps; rep++) {
        // alternate the order between repetitions so drift (thermal, page cache) does not favour one server
        const those = NO_CEILING.has(scenario) ? servers.filter((s) => !s.startsWith('ceiling')) : servers;
        const order = rep % 2 === 0 ? those : [...those].reverse();
        for (let position = 0; position < order.length; position++) {
          const name = order[position];
          const t = Date.now();
          let record = await runOne(env, scenario, name, rep, position);
          const disturbed = interferenceOf(record);
          if (cfg.retryAboveLoad !== undefined && disturbed > cfg.retryAboveLoad) {
            log(`  other processes took ${disturbed.toFixed(2)} cores meanwhile: running it again`);
            const again = await runOne(env, scenario, name, rep, position);
            if (!again.error && interferenceOf(again) < disturbed) {
              again.raw.replaced = { interference: disturbed, metrics: record.metrics };
              record = again;
            }
          }
          runs.push(record);
          log(
            `${scenario.padEnd(9)} rep ${rep + 1}/${cfg.reps} ${name.padEnd(9)} ${((Date.now() - t) / 1000).toFixed(1)} s` +
              `${record.error ? '  FAILED' : ''}${interferenceOf(record) > 0.1 ? `  (other processes: ${interferenceOf(record).toFixed(2)} cores)` : ''}`,
          );
        }
      }
    }
  }
  deriveGrowth(cfg, runs);
  const summary = summarize(cfg, cfg.reps, runs);
  const main = summary.filter((s) => !s.row.detail);
  const details = summary.filter((s) => s.row.detail);
  const elapsed = (Date.now() - t0) / 1000;
  const noise = interference(runs);
  if (noise && noise.cpu0.max > 0.1) {
    warnings.push(
      `other processes used CPU during the measured windows (server's CPU: median ${fmt(noise.cpu0.median)}, max ${fmt(noise.cpu0.max)} cores; ` +
        `whole machine: median ${fmt(noise.machine.median)}): figures are disturbed, per-unit CPU less than rates and latencies`,
    );
  }

  // profiles of ours for the scenarios whose target was missed (or those asked for)
  let profiles: Record<string, ProfileSummary> = {};
  if (cli.profile !== undefined) {
    const wanted =
      cli.profile === 'missed'
        ? [...new Set(main.filter((s) => s.status.startsWith('MISSED')).map((s) => scenarioOfKey(s.row.key)))].filter((s): s is ScenarioName => !!s && s !== 'idle')
        : cli.profile === 'all'
          ? scenarios.filter((s) => s !== 'idle')
          : (cli.profile.split(',') as ScenarioName[]);
    const dir = join(resultsDir, `${stamp}-profiles`);
    mkdirSync(dir, { recursive: true });
    profiles = {};
    for (const scenario of wanted) {
      const p = await profileScenario(env, scenario, dir, cli.profileServer);
      if (p) profiles[scenario] = p;
    }
  }

  const m = machine();
  const meta = {
    started: started.toISOString(),
    seconds: elapsed,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: m,
    git: { commit: git(['rev-parse', 'HEAD']), libChanges: git(['status', '--porcelain', 'lib']).split('\n').filter(Boolean) },
    pinning: pinning.enabled ? `server on CPU ${SERVER_CPU}, generator (and harness) on CPU ${GENERATOR_CPU} (taskset)` : 'none',
    fdLimit,
    warnings,
    interference: noise,
    servers: serverInfo,
  };
  const out = { meta, config: cfg, summary: summary.map((s) => ({ ...s, row: s.row })), runs, profiles };
  const jsonFile = join(resultsDir, `${stamp}.json`);
  writeFileSync(jsonFile, JSON.stringify(out, null, 2));

  const lines: string[] = [];
  lines.push(`express-socket.io benchmark — ${cfg.mode} mode, ${cfg.reps} repetitions, ${elapsed.toFixed(0)} s`);
  lines.push(`${m.cpuModel}, ${m.nproc} CPUs, ${m.memoryGiB} GiB, Node ${m.node}; pinning: ${meta.pinning}`);
  lines.push(`socket.io runs with connectionStateRecovery OFF (its default); ours with recovery ON (its default).`);
  lines.push(`Each figure: median over repetitions; ratios: median of the per-repetition ratios (min–max).`);
  for (const w of warnings) lines.push(`warning: ${w}`);
  lines.push('');
  lines.push(textTable(tableHeader(servers, true), main.map((r) => tableCells(r, servers, true))));
  lines.push('');
  lines.push('details (CPU split user/system, loads in CPU cores):');
  lines.push(textTable(tableHeader(servers, false), details.map((r) => tableCells(r, servers, false))));
  const failed = runs.filter((r) => r.error);
  if (failed.length) {
    lines.push('');
    lines.push(`${failed.length} run(s) failed:`);
    for (const r of failed) lines.push(`  ${r.scenario} / ${r.server} / rep ${r.rep + 1}: ${r.error}`);
  }
  for (const [scenario, p] of Object.entries(profiles)) {
    lines.push('');
    lines.push(`CPU profile of ${cli.profileServer}, ${scenario} (self time; ${p.totalMs.toFixed(0)} ms sampled, idle excluded):`);
    lines.push(textTable(['function (lib/)', 'file', 'self ms', 'self %'], p.lib.slice(0, 15).map((f) => [f.name, f.location, f.selfMs.toFixed(1), f.percent.toFixed(1)])));
    lines.push(`by area: ${p.areas.map((a) => `${a.area} ${a.percent.toFixed(1)}%`).join(', ')}`);
    lines.push('lib/ functions by inclusive time (their callees in ws, node, V8 included):');
    lines.push(textTable(['function (lib/)', 'file', 'incl. ms', 'incl. %'], p.libInclusive.slice(0, 25).map((f) => [f.name, f.location, f.selfMs.toFixed(1), f.percent.toFixed(1)])));
    lines.push('every function by self time:');
    lines.push(textTable(['function', 'where', 'self ms', 'self %'], p.top.slice(0, 15).map((f) => [f.name, f.location || f.area, f.selfMs.toFixed(1), f.percent.toFixed(1)])));
  }
  lines.push('');
  lines.push(`raw results: ${relative(ROOT, jsonFile)}`);
  const text = lines.join('\n');
  process.stdout.write(`${text}\n`);

  const md: string[] = [];
  md.push(markdownTable(tableHeader(servers, true), main.map((r) => tableCells(r, servers, true))));
  md.push('');
  md.push(markdownTable(tableHeader(servers, false), details.map((r) => tableCells(r, servers, false))));
  for (const [scenario, p] of Object.entries(profiles)) {
    md.push('');
    md.push(`CPU profile of ${cli.profileServer}, ${scenario}: ${p.areas.map((a) => `${a.area} ${a.percent.toFixed(1)}%`).join(', ')}`);
    md.push('');
    md.push(markdownTable(['function (lib/)', 'file', 'self ms', 'self %'], p.lib.slice(0, 12).map((f) => [f.name, f.location, f.selfMs.toFixed(1), f.percent.toFixed(1)])));
  }
  writeFileSync(join(resultsDir, `${stamp}.md`), `${md.join('\n')}\n`);
}
main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
