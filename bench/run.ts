// `npm run bench [-- --quick] [--check] [--heap[=N]] [--profile[=missed|all|a,b]] [--profile-server=S] [--only=a,b] [--reps=N] [--servers=a,b] [--no-pin]`
// Runs every scenario against three servers (ours, official socket.io, the raw ceiling), each a fresh
// process per scenario and repetition pinned to CPU 0, the load generator pinned to CPU 1; prints the
// table of medians and paired ratios, writes raw JSON (and the tables as Markdown) to bench/results/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { compile, compiledPath } from './build';
import { runCheck } from './check';
import type { BroadcastResult, ChurnResult, ConnectResult, EchoResult } from './generator';
import { perConnection, Snapshot, type HeapClass } from './heap';
import { readMachine, readRss } from './proc';
import { summarizeProfile, type ProfileSummary } from './profile';
import { detectPinning, hardFdLimit, pinSelf, spawnNode, type Child, type Pinning } from './spawn';
import { fmt, fmtSpread, markdownTable, pairedRatios, spread, textTable, type Spread } from './stats';

const ROOT = resolve(__dirname, '..');
const SERVER_CPU = 0;
const GENERATOR_CPU = 1;
/** Loopback source addresses the generator spreads its connections over (127.0.0.2 …). */
const SOURCE_ADDRESSES = 16;

export type ServerName = 'ours' | 'socket.io' | 'ceiling' | 'ceiling+express';
/** Every server the harness knows, in table order; the last one only when asked for (--servers). */
const ALL_SERVERS: readonly ServerName[] = ['ours', 'socket.io', 'ceiling', 'ceiling+express'];
const DEFAULT_SERVERS: readonly ServerName[] = ['ours', 'socket.io', 'ceiling'];
const SERVER_FILES: Record<ServerName, string> = {
  ours: 'bench/servers/ours.ts',
  'socket.io': 'bench/servers/official.ts',
  ceiling: 'bench/servers/ceiling.ts',
  // the ceiling's long-polling handler mounted in an Express app: what Express itself costs per request
  'ceiling+express': 'bench/servers/ceiling.ts',
};

const SCENARIO_NAMES = ['idle', 'broadcast', 'paced', 'echo', 'churn', 'polling', 'growth'] as const;
type ScenarioName = (typeof SCENARIO_NAMES)[number];

interface Config {
  mode: 'quick' | 'full';
  reps: number;
  idleSizes: number[];
  broadcastSize: number;
  growthSize: number;
  warmupMs: number;
  measureMs: number;
  /** Saturating broadcast: broadcasts in flight (sent, not yet delivered everywhere). */
  window: number;
  pacedRate: number;
  payloadBytes: number;
  echoClients: number;
  churnConcurrency: number;
  pollingClients: number;
  connectConcurrency: number;
  settleMs: number;
  /** Before each run, wait up to this long for other processes to leave the CPUs alone. */
  quietWaitMs: number;
  /** A run during which other processes took more than this of the server's CPU (cores) is redone once. */
  retryAboveLoad: number | undefined;
}

const QUICK: Config = {
  mode: 'quick',
  reps: 2,
  idleSizes: [1000, 5000],
  broadcastSize: 1000,
  growthSize: 5000,
  warmupMs: 400,
  measureMs: 1500,
  window: 16,
  pacedRate: 20,
  payloadBytes: 64,
  echoClients: 100,
  churnConcurrency: 20,
  pollingClients: 100,
  connectConcurrency: 128,
  settleMs: 200,
  quietWaitMs: 0,
  retryAboveLoad: undefined,
};

const FULL: Config = {
  ...QUICK,
  mode: 'full',
  reps: 5,
  idleSizes: [1000, 5000, 10000, 50000],
  growthSize: 10000,
  warmupMs: 1000,
  measureMs: 5000,
  settleMs: 500,
  quietWaitMs: 10000,
  retryAboveLoad: 0.25,
};

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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- one server process, one scenario ---

interface Env {
  cfg: Config;
  pinning: Pinning;
  fdLimit: number;
  log: (line: string) => void;
}

/** Called around the measured phase (the profiler hooks in here). */
interface PhaseHooks {
  before(server: Child): Promise<void>;
  after(server: Child): Promise<void>;
}

const NO_HOOKS: PhaseHooks = { before: async () => {}, after: async () => {} };

type Metrics = Record<string, number>;

interface RunRecord {
  scenario: ScenarioName;
  server: ServerName;
  rep: number;
  /** Position of the server in this repetition's order. */
  position: number;
  metrics: Metrics;
  raw: Record<string, unknown>;
  error?: string;
}

interface Ctx {
  env: Env;
  server: Child;
  gen: Child;
  hooks: PhaseHooks;
  raw: Record<string, unknown>;
}

interface Mem {
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  rss: number;
  procRss: number;
}

async function memory(server: Child): Promise<Mem> {
  const usage = await server.call<NodeJS.MemoryUsage>('mem', {}, 60_000);
  return { ...usage, procRss: readRss(server.pid) ?? usage.rss };
}

async function connectAll(ctx: Ctx, count: number): Promise<ConnectResult> {
  const result = await ctx.gen.call<ConnectResult>('connect', { count, concurrency: ctx.env.cfg.connectConcurrency }, 6 * 60_000);
  if (result.failed > 0) throw new Error(`${result.failed} of ${count} connections failed: ${JSON.stringify(result.errors)}`);
  return result;
}

function phaseTimeout(cfg: Config): number {
  return cfg.warmupMs + cfg.measureMs + 60_000;
}

function perUnit(totalMs: number, units: number): number {
  return units > 0 ? (totalMs * 1000) / units : NaN;
}

function cpuMetrics(prefix: string, window: BroadcastResult['window'], units: number, m: Metrics): void {
  m[`${prefix}.cpu`] = perUnit(window.server.totalMs, units);
  m[`${prefix}.user`] = perUnit(window.server.userMs, units);
  m[`${prefix}.sys`] = perUnit(window.server.systemMs, units);
  m[`${prefix}.serverLoad`] = window.server.totalMs / window.wallMs;
  m[`${prefix}.genLoad`] = window.generatorMs / window.wallMs;
  m[`${prefix}.otherLoad`] = window.otherLoad;
  if (window.otherLoadServerCpu !== undefined) m[`${prefix}.otherLoadCpu0`] = window.otherLoadServerCpu;
}

async function broadcastPhase(ctx: Ctx, mode: 'saturate' | 'paced'): Promise<BroadcastResult> {
  const { cfg } = ctx.env;
  await ctx.hooks.before(ctx.server);
  const result = await ctx.gen.call<BroadcastResult>(
    'broadcast',
    { mode, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs, window: cfg.window, rate: cfg.pacedRate, payloadBytes: cfg.payloadBytes },
    phaseTimeout(cfg),
  );
  await ctx.hooks.after(ctx.server);
  return result;
}

const SCENARIOS: Record<ScenarioName, (ctx: Ctx) => Promise<Metrics>> = {
  async idle(ctx) {
    const { cfg } = ctx.env;
    const m: Metrics = {};
    const base = await memory(ctx.server);
    const points: Record<number, Mem> = {};
    let have = 0;
    for (const n of cfg.idleSizes) {
      await connectAll(ctx, n - have);
      have = n;
      await sleep(cfg.settleMs);
      const now = await memory(ctx.server);
      points[n] = now;
      m[`idle.heap@${n}`] = (now.heapUsed - base.heapUsed) / n;
      m[`idle.rss@${n}`] = (now.procRss - base.procRss) / n;
      m[`idle.external@${n}`] = (now.external - base.external) / n;
    }
    ctx.raw.base = base;
    ctx.raw.points = points;
    return m;
  },

  async broadcast(ctx) {
    const { cfg } = ctx.env;
    const before = await memory(ctx.server);
    await connectAll(ctx, cfg.broadcastSize);
    const r = await broadcastPhase(ctx, 'saturate');
    const after = await memory(ctx.server);
    ctx.raw.result = r;
    ctx.raw.memory = { before, after };
    const m: Metrics = {
      'bcast.rate': r.deliveries / (r.window.wallMs / 1000),
      'bcast.missing': r.missing,
      // what stays on the heap per connection once the burst is over (send queues, replay logs)
      'bcast.heapAfter': (after.heapUsed - before.heapUsed) / cfg.broadcastSize,
    };
    cpuMetrics('bcast', r.window, r.deliveries, m);
    return m;
  },

  async paced(ctx) {
    const { cfg } = ctx.env;
    await connectAll(ctx, cfg.broadcastSize);
    const r = await broadcastPhase(ctx, 'paced');
    ctx.raw.result = r;
    const m: Metrics = { 'paced.p50': r.latency?.p50 ?? NaN, 'paced.p99': r.latency?.p99 ?? NaN, 'paced.missing': r.missing };
    cpuMetrics('paced', r.window, r.deliveries, m);
    return m;
  },

  async growth(ctx) {
    const { cfg } = ctx.env;
    await connectAll(ctx, cfg.growthSize);
    const r = await broadcastPhase(ctx, 'saturate');
    ctx.raw.result = r;
    const m: Metrics = { 'growth.rate': r.deliveries / (r.window.wallMs / 1000), 'growth.missing': r.missing };
    cpuMetrics('growth', r.window, r.deliveries, m);
    return m;
  },

  async echo(ctx) {
    const { cfg } = ctx.env;
    await connectAll(ctx, cfg.echoClients);
    await ctx.hooks.before(ctx.server);
    const r = await ctx.gen.call<EchoResult>(
      'echo',
      { clients: cfg.echoClients, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs, payloadBytes: cfg.payloadBytes },
      phaseTimeout(cfg),
    );
    await ctx.hooks.after(ctx.server);
    ctx.raw.result = r;
    const m: Metrics = { 'echo.rate': r.acks / (r.window.wallMs / 1000), 'echo.rtt50': r.rtt?.p50 ?? NaN, 'echo.rtt99': r.rtt?.p99 ?? NaN };
    cpuMetrics('echo', r.window, r.acks, m);
    return m;
  },

  async churn(ctx) {
    const { cfg } = ctx.env;
    await ctx.hooks.before(ctx.server);
    const r = await ctx.gen.call<ChurnResult>('churn', { concurrency: cfg.churnConcurrency, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs }, phaseTimeout(cfg));
    await ctx.hooks.after(ctx.server);
    ctx.raw.result = r;
    const m: Metrics = { 'churn.rate': r.cycles / (r.window.wallMs / 1000), 'churn.errors': Object.values(r.errors).reduce((a, b) => a + b, 0) };
    cpuMetrics('churn', r.window, r.cycles, m);
    return m;
  },

  async polling(ctx) {
    const { cfg } = ctx.env;
    await ctx.hooks.before(ctx.server);
    const r = await ctx.gen.call<EchoResult>(
      'polling-echo',
      { clients: cfg.pollingClients, warmupMs: cfg.warmupMs, measureMs: cfg.measureMs, payloadBytes: cfg.payloadBytes },
      phaseTimeout(cfg),
    );
    await ctx.hooks.after(ctx.server);
    ctx.raw.result = r;
    const m: Metrics = {
      'poll.rate': r.acks / (r.window.wallMs / 1000),
      'poll.cpuReq': perUnit(r.window.server.totalMs, r.requests),
      'poll.rtt50': r.rtt?.p50 ?? NaN,
      'poll.clients': r.clients,
    };
    cpuMetrics('poll', r.window, r.acks, m);
    return m;
  },
};

async function startServer(env: Env, name: ServerName, extraArgs: string[] = []): Promise<{ child: Child; ready: Record<string, unknown> }> {
  const child = spawnNode({
    name,
    script: compiledPath(ROOT, join(ROOT, SERVER_FILES[name])),
    nodeArgs: ['--expose-gc', ...extraArgs],
    cpu: SERVER_CPU,
    pinning: env.pinning,
    fdLimit: env.fdLimit,
    cwd: ROOT,
    env: { NODE_ENV: 'production', BENCH_CEILING_EXPRESS: name === 'ceiling+express' ? '1' : '' },
  });
  try {
    const ready = await child.next<Record<string, unknown>>((m) => m.type === 'ready', 30_000);
    return { child, ready };
  } catch (err) {
    await child.stop(1000);
    throw err;
  }
}

async function startGenerator(env: Env, server: Child, port: number): Promise<Child> {
  const gen = spawnNode({
    name: 'generator',
    script: compiledPath(ROOT, join(ROOT, 'bench/generator.ts')),
    nodeArgs: ['--max-old-space-size=4096'],
    cpu: GENERATOR_CPU,
    pinning: env.pinning,
    fdLimit: env.fdLimit,
    cwd: ROOT,
  });
  try {
    await gen.next((m) => m.type === 'ready', 30_000);
    await gen.call('target', { port, serverPid: server.pid, serverCpu: env.pinning.enabled ? SERVER_CPU : undefined, addresses: SOURCE_ADDRESSES });
    return gen;
  } catch (err) {
    await gen.stop(1000);
    throw err;
  }
}

/**
 * Waits (bounded) until the machine is quiet: other processes (sessions running tests, installs…) on a
 * 2-CPU box would otherwise share the server's CPU. Returns the load seen last, cores.
 */
async function waitForQuiet(maxMs: number, threshold = 0.15): Promise<{ waitedMs: number; load: number }> {
  const t0 = performance.now();
  let load = Infinity;
  while (true) {
    const a = readMachine();
    const ta = performance.now();
    await sleep(250);
    load = (readMachine().totalMs - a.totalMs) / (performance.now() - ta);
    if (load <= threshold || performance.now() - t0 >= maxMs) return { waitedMs: performance.now() - t0, load };
  }
}

/** The largest load of other processes on the server's CPU over the run's measured windows. */
function interferenceOf(record: RunRecord): number {
  const keys = Object.keys(record.metrics);
  const suffix = keys.some((k) => k.endsWith('.otherLoadCpu0')) ? '.otherLoadCpu0' : '.otherLoad';
  let worst = 0;
  for (const key of keys) if (key.endsWith(suffix)) worst = Math.max(worst, record.metrics[key]);
  return worst;
}

const serverInfo: Partial<Record<ServerName, Record<string, unknown>>> = {};

async function runOne(env: Env, scenario: ScenarioName, name: ServerName, rep: number, position: number, hooks = NO_HOOKS): Promise<RunRecord> {
  const record: RunRecord = { scenario, server: name, rep, position, metrics: {}, raw: {} };
  if (env.cfg.quietWaitMs > 0) record.raw.quiet = await waitForQuiet(env.cfg.quietWaitMs);
  let server: Child | undefined;
  let gen: Child | undefined;
  try {
    const started = await startServer(env, name);
    server = started.child;
    serverInfo[name] ??= started.ready;
    gen = await startGenerator(env, server, Number(started.ready.port));
    record.metrics = await SCENARIOS[scenario]({ env, server, gen, hooks, raw: record.raw });
  } catch (err) {
    record.error = (err as Error).message;
    env.log(`  ! ${scenario} / ${name} / rep ${rep + 1}: ${record.error}`);
  } finally {
    await server?.stop();
    await gen?.stop();
  }
  return record;
}

// --- summary ---

interface Row {
  key: string;
  label: string;
  unit: string;
  better: 'lower' | 'higher';
  /** ours ÷ ceiling must stay at or under this. */
  target?: number;
  detail?: boolean;
}

function k(n: number): string {
  return n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

function rowsFor(cfg: Config): Row[] {
  const rows: Row[] = [];
  for (const n of cfg.idleSizes) rows.push({ key: `idle.heap@${n}`, label: `idle: heap per connection @${k(n)}`, unit: 'B', better: 'lower', target: n === 10000 ? 1.3 : undefined });
  for (const n of cfg.idleSizes) rows.push({ key: `idle.rss@${n}`, label: `idle: RSS per connection @${k(n)}`, unit: 'B', better: 'lower', target: n === 10000 ? 1.2 : undefined });
  for (const n of cfg.idleSizes) rows.push({ key: `idle.external@${n}`, label: `idle: external per connection @${k(n)}`, unit: 'B', better: 'lower', detail: true });
  const b = k(cfg.broadcastSize);
  rows.push({ key: 'bcast.cpu', label: `broadcast to ${b}, saturating: CPU per delivery`, unit: 'µs', better: 'lower', target: 1.1 });
  rows.push({ key: 'bcast.user', label: `broadcast to ${b}, saturating: user CPU per delivery`, unit: 'µs', better: 'lower', detail: true });
  rows.push({ key: 'bcast.sys', label: `broadcast to ${b}, saturating: system CPU per delivery`, unit: 'µs', better: 'lower', detail: true });
  rows.push({ key: 'bcast.rate', label: `broadcast to ${b}, saturating: deliveries per second`, unit: '/s', better: 'higher' });
  rows.push({ key: 'bcast.heapAfter', label: `broadcast to ${b}, saturating: heap per connection after the burst`, unit: 'B', better: 'lower', detail: true });
  rows.push({ key: 'bcast.serverLoad', label: `broadcast to ${b}, saturating: server CPU load`, unit: 'cores', better: 'higher', detail: true });
  rows.push({ key: 'bcast.genLoad', label: `broadcast to ${b}, saturating: generator CPU load`, unit: 'cores', better: 'lower', detail: true });
  rows.push({ key: 'paced.p50', label: `broadcast to ${b}, paced ${cfg.pacedRate}/s: latency p50`, unit: 'ms', better: 'lower', target: 1.1 });
  rows.push({ key: 'paced.p99', label: `broadcast to ${b}, paced ${cfg.pacedRate}/s: latency p99`, unit: 'ms', better: 'lower' });
  rows.push({ key: 'paced.cpu', label: `broadcast to ${b}, paced: CPU per delivery`, unit: 'µs', better: 'lower', detail: true });
  rows.push({ key: 'echo.cpu', label: `echo with ack, ${cfg.echoClients} clients: CPU per ack`, unit: 'µs', better: 'lower', target: 1.1 });
  rows.push({ key: 'echo.user', label: `echo with ack: user CPU per ack`, unit: 'µs', better: 'lower', detail: true });
  rows.push({ key: 'echo.sys', label: `echo with ack: system CPU per ack`, unit: 'µs', better: 'lower', detail: true });
  rows.push({ key: 'echo.rtt50', label: `echo with ack: RTT p50`, unit: 'ms', better: 'lower' });
  rows.push({ key: 'echo.rtt99', label: `echo with ack: RTT p99`, unit: 'ms', better: 'lower' });
  rows.push({ key: 'echo.rate', label: `echo with ack: acks per second`, unit: '/s', better: 'higher' });
  rows.push({ key: 'echo.genLoad', label: `echo with ack: generator CPU load`, unit: 'cores', better: 'lower', detail: true });
  rows.push({ key: 'churn.cpu', label: `churn (connect, CONNECT, leave, close): CPU per cycle`, unit: 'µs', better: 'lower', target: 1.2 });
  rows.push({ key: 'churn.user', label: `churn: user CPU per cycle`, unit: 'µs', better: 'lower', detail: true });
  rows.push({ key: 'churn.sys', label: `churn: system CPU per cycle`, unit: 'µs', better: 'lower', detail: true });
  rows.push({ key: 'churn.rate', label: `churn: cycles per second`, unit: '/s', better: 'higher' });
  rows.push({ key: 'churn.genLoad', label: `churn: generator CPU load`, unit: 'cores', better: 'lower', detail: true });
  rows.push({ key: 'poll.cpu', label: `long-polling echo, ${cfg.pollingClients} clients: CPU per ack`, unit: 'µs', better: 'lower', target: 1.2 });
  rows.push({ key: 'poll.cpuReq', label: `long-polling echo: CPU per HTTP request`, unit: 'µs', better: 'lower' });
  rows.push({ key: 'poll.user', label: `long-polling echo: user CPU per ack`, unit: 'µs', better: 'lower', detail: true });
  rows.push({ key: 'poll.sys', label: `long-polling echo: system CPU per ack`, unit: 'µs', better: 'lower', detail: true });
  rows.push({ key: 'poll.rate', label: `long-polling echo: acks per second`, unit: '/s', better: 'higher' });
  rows.push({ key: 'poll.genLoad', label: `long-polling echo: generator CPU load`, unit: 'cores', better: 'lower', detail: true });
  const g = k(cfg.growthSize);
  rows.push({ key: 'growth.cpu', label: `broadcast to ${g}, saturating: CPU per delivery`, unit: 'µs', better: 'lower' });
  rows.push({ key: 'growth.user', label: `broadcast to ${g}: user CPU per delivery`, unit: 'µs', better: 'lower', detail: true });
  rows.push({ key: 'growth.sys', label: `broadcast to ${g}: system CPU per delivery`, unit: 'µs', better: 'lower', detail: true });
  rows.push({ key: 'growth.genLoad', label: `broadcast to ${g}: generator CPU load`, unit: 'cores', better: 'lower', detail: true });
  rows.push({ key: 'growth.cpuRatio', label: `growth: CPU per delivery ${g} ÷ ${b}`, unit: '×', better: 'lower' });
  const top = cfg.idleSizes[cfg.idleSizes.length - 1];
  const mid = cfg.idleSizes.includes(10000) ? 10000 : top;
  rows.push({ key: 'growth.heapRatio', label: `growth: heap per connection ${k(mid)} ÷ 1k`, unit: '×', better: 'lower' });
  rows.push({ key: 'growth.rssRatio', label: `growth: RSS per connection ${k(mid)} ÷ 1k`, unit: '×', better: 'lower' });
  return rows;
}

/** Derived per-repetition metrics: the growth ratios, from the runs of the same server and repetition. */
function deriveGrowth(cfg: Config, runs: RunRecord[]): void {
  const top = cfg.idleSizes[cfg.idleSizes.length - 1];
  const mid = cfg.idleSizes.includes(10000) ? 10000 : top;
  for (const growth of runs.filter((r) => r.scenario === 'growth')) {
    const base = runs.find((r) => r.scenario === 'broadcast' && r.server === growth.server && r.rep === growth.rep);
    if (base && growth.metrics['growth.cpu'] && base.metrics['bcast.cpu']) {
      growth.metrics['growth.cpuRatio'] = growth.metrics['growth.cpu'] / base.metrics['bcast.cpu'];
    }
  }
  for (const idle of runs.filter((r) => r.scenario === 'idle')) {
    const a = idle.metrics[`idle.heap@${mid}`];
    const b = idle.metrics['idle.heap@1000'];
    if (a !== undefined && b) idle.metrics['growth.heapRatio'] = a / b;
    const c = idle.metrics[`idle.rss@${mid}`];
    const d = idle.metrics['idle.rss@1000'];
    if (c !== undefined && d) idle.metrics['growth.rssRatio'] = c / d;
  }
}

interface SummaryRow {
  row: Row;
  values: Partial<Record<ServerName, Spread>>;
  oursToCeiling: Spread | undefined;
  sioToCeiling: Spread | undefined;
  oursToSio: Spread | undefined;
  oursToCeilingExpress: Spread | undefined;
  status: string;
}

function perRep(runs: RunRecord[], server: ServerName, key: string, reps: number): Array<number | undefined> {
  const out: Array<number | undefined> = [];
  for (let rep = 0; rep < reps; rep++) {
    const run = runs.find((r) => r.server === server && r.rep === rep && r.metrics[key] !== undefined);
    out.push(run?.metrics[key]);
  }
  return out;
}

function summarize(cfg: Config, reps: number, runs: RunRecord[]): SummaryRow[] {
  const out: SummaryRow[] = [];
  for (const row of rowsFor(cfg)) {
    const values: Partial<Record<ServerName, Spread>> = {};
    const series: Partial<Record<ServerName, Array<number | undefined>>> = {};
    for (const s of ALL_SERVERS) {
      series[s] = perRep(runs, s, row.key, reps);
      const v = spread((series[s] ?? []).filter((x): x is number => x !== undefined));
      if (v) values[s] = v;
    }
    if (Object.keys(values).length === 0) continue;
    const oursToCeiling = spread(pairedRatios(series.ours ?? [], series.ceiling ?? []));
    const sioToCeiling = spread(pairedRatios(series['socket.io'] ?? [], series.ceiling ?? []));
    const oursToSio = spread(pairedRatios(series.ours ?? [], series['socket.io'] ?? []));
    const oursToCeilingExpress = spread(pairedRatios(series.ours ?? [], series['ceiling+express'] ?? []));
    let status = '';
    if (row.target !== undefined && oursToCeiling) {
      status = oursToCeiling.median <= row.target ? `met (≤${row.target})` : `MISSED (≤${row.target})`;
    }
    if (oursToSio && row.better === 'lower' && (row.target !== undefined || !row.detail)) {
      status += `${status ? ', ' : ''}${oursToSio.median < 1 ? 'ahead of' : 'BEHIND'} socket.io`;
    }
    out.push({ row, values, oursToCeiling, sioToCeiling, oursToSio, oursToCeilingExpress, status });
  }
  return out;
}

/** Columns: metric, one per server run, the ratios, the target check (`withTarget`). */
function tableHeader(servers: ServerName[], withTarget: boolean): string[] {
  const shown = ALL_SERVERS.filter((s) => servers.includes(s));
  const header = ['metric', ...shown, 'ours/ceiling (min–max)', 'socket.io/ceiling (min–max)'];
  if (servers.includes('ceiling+express')) header.push('ours/(ceiling+express)');
  if (withTarget) header.push('target');
  return header;
}

function tableCells(s: SummaryRow, servers: ServerName[], withTarget: boolean): string[] {
  const shown = ALL_SERVERS.filter((x) => servers.includes(x));
  const cells = [`${s.row.label} (${s.row.unit})`, ...shown.map((name) => fmt(s.values[name]?.median)), fmtSpread(s.oursToCeiling), fmtSpread(s.sioToCeiling)];
  if (servers.includes('ceiling+express')) cells.push(fmtSpread(s.oursToCeilingExpress));
  if (withTarget) cells.push(s.status);
  return cells;
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

  const scenarios = cli.only ?? [...SCENARIO_NAMES];
  const servers = cli.servers;
  const runs: RunRecord[] = [];
  const t0 = Date.now();
  {
    // --reps=0 with --profile=<scenarios> only profiles
    for (const scenario of scenarios) {
      for (let rep = 0; rep < cfg.reps; rep++) {
        // alternate the order between repetitions so drift (thermal, page cache) does not favour one server
        const order = rep % 2 === 0 ? servers : [...servers].reverse();
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

/** Load of other processes during the measured windows, cores. */
function interference(runs: RunRecord[]): { machine: Spread; cpu0: Spread } | undefined {
  const machineLoads: number[] = [];
  const cpu0Loads: number[] = [];
  for (const r of runs) {
    for (const [key, value] of Object.entries(r.metrics)) {
      if (key.endsWith('.otherLoad')) machineLoads.push(value);
      if (key.endsWith('.otherLoadCpu0')) cpu0Loads.push(value);
    }
  }
  const machine = spread(machineLoads);
  const cpu0 = spread(cpu0Loads.length ? cpu0Loads : machineLoads);
  return machine && cpu0 ? { machine, cpu0 } : undefined;
}

function scenarioOfKey(key: string): ScenarioName | undefined {
  const prefix = key.split('.')[0];
  const map: Record<string, ScenarioName> = { idle: 'idle', bcast: 'broadcast', paced: 'paced', echo: 'echo', churn: 'churn', poll: 'polling', growth: 'growth' };
  return map[prefix];
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? String(err)}\n`);
  process.exitCode = 1;
});
