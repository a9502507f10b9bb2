// One benchmark run: the configurations, the scenarios, and one server process (with its generator, and
// a private redis-server for the Redis scenario) measured through one scenario.
import { join, resolve } from 'node:path';
import { compiledPath } from './build';
import type { BroadcastResult, ChurnResult, ConnectResult, EchoResult } from './generator';
import { readMachine, readRss } from './proc';
import { startBenchRedis, type BenchRedis } from './redis';
import { spawnNode, type Child, type Pinning } from './spawn';

export const ROOT = resolve(__dirname, '..');
export const SERVER_CPU = 0;
export const GENERATOR_CPU = 1;
/** Loopback source addresses the generator spreads its connections over (127.0.0.2 …). */
const SOURCE_ADDRESSES = 16;

export type ServerName = 'ours' | 'socket.io' | 'ceiling' | 'ceiling+express';
/** Every server the harness knows, in table order; the last one only when asked for (--servers). */
export const ALL_SERVERS: readonly ServerName[] = ['ours', 'socket.io', 'ceiling', 'ceiling+express'];
export const DEFAULT_SERVERS: readonly ServerName[] = ['ours', 'socket.io', 'ceiling'];
const SERVER_FILES: Record<ServerName, string> = {
  ours: 'bench/servers/ours.ts',
  'socket.io': 'bench/servers/official.ts',
  ceiling: 'bench/servers/ceiling.ts',
  // the ceiling's long-polling handler mounted in an Express app: what Express itself costs per request
  'ceiling+express': 'bench/servers/ceiling.ts',
};

export const SCENARIO_NAMES = ['idle', 'broadcast', 'redis-broadcast', 'paced', 'echo', 'churn', 'polling', 'growth'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];
/** Scenarios the ceiling cannot run: it has no adapter, so their rows compare ours with socket.io only. */
export const NO_CEILING: ReadonlySet<ScenarioName> = new Set(['redis-broadcast']);

export interface Config {
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

export const QUICK: Config = {
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

export const FULL: Config = {
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

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// --- one server process, one scenario ---

export interface Env {
  cfg: Config;
  pinning: Pinning;
  fdLimit: number;
  log: (line: string) => void;
}

/** Called around the measured phase (the profiler hooks in here). */
export interface PhaseHooks {
  before(server: Child): Promise<void>;
  after(server: Child): Promise<void>;
}

const NO_HOOKS: PhaseHooks = { before: async () => {}, after: async () => {} };

export type Metrics = Record<string, number>;

export interface RunRecord {
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

export const SCENARIOS: Record<ScenarioName, (ctx: Ctx) => Promise<Metrics>> = {
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

  // the broadcast above with @socket.io/redis-adapter on both servers (a private redis-server per run)
  async 'redis-broadcast'(ctx) {
    const { cfg } = ctx.env;
    await connectAll(ctx, cfg.broadcastSize);
    const r = await broadcastPhase(ctx, 'saturate');
    ctx.raw.result = r;
    const m: Metrics = { 'rbcast.rate': r.deliveries / (r.window.wallMs / 1000), 'rbcast.missing': r.missing };
    cpuMetrics('rbcast', r.window, r.deliveries, m);
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

export async function startServer(env: Env, name: ServerName, redis?: BenchRedis): Promise<{ child: Child; ready: Record<string, unknown> }> {
  const child = spawnNode({
    name,
    script: compiledPath(ROOT, join(ROOT, SERVER_FILES[name])),
    nodeArgs: ['--expose-gc'],
    cpu: SERVER_CPU,
    pinning: env.pinning,
    fdLimit: env.fdLimit,
    cwd: ROOT,
    env: { NODE_ENV: 'production', BENCH_CEILING_EXPRESS: name === 'ceiling+express' ? '1' : '', BENCH_REDIS_URL: redis?.url ?? '' },
  });
  try {
    const ready = await child.next<Record<string, unknown>>((m) => m.type === 'ready', 30_000);
    return { child, ready };
  } catch (err) {
    await child.stop(1000);
    throw err;
  }
}

export async function startGenerator(env: Env, server: Child, port: number): Promise<Child> {
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
  for (;;) {
    const a = readMachine();
    const ta = performance.now();
    await sleep(250);
    load = (readMachine().totalMs - a.totalMs) / (performance.now() - ta);
    if (load <= threshold || performance.now() - t0 >= maxMs) return { waitedMs: performance.now() - t0, load };
  }
}

/** The largest load of other processes on the server's CPU over the run's measured windows. */
export function interferenceOf(record: RunRecord): number {
  const keys = Object.keys(record.metrics);
  const suffix = keys.some((k) => k.endsWith('.otherLoadCpu0')) ? '.otherLoadCpu0' : '.otherLoad';
  let worst = 0;
  for (const key of keys) if (key.endsWith(suffix)) worst = Math.max(worst, record.metrics[key]);
  return worst;
}

export const serverInfo: Partial<Record<ServerName, Record<string, unknown>>> = {};

export async function runOne(env: Env, scenario: ScenarioName, name: ServerName, rep: number, position: number, hooks = NO_HOOKS): Promise<RunRecord> {
  const record: RunRecord = { scenario, server: name, rep, position, metrics: {}, raw: {} };
  if (env.cfg.quietWaitMs > 0) record.raw.quiet = await waitForQuiet(env.cfg.quietWaitMs);
  let server: Child | undefined;
  let gen: Child | undefined;
  let redis: BenchRedis | undefined;
  try {
    // Redis on the generator's CPU: the measured server's CPU stays its own
    if (scenario === 'redis-broadcast') redis = await startBenchRedis(GENERATOR_CPU, env.pinning);
    const started = await startServer(env, name, redis);
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
    await redis?.stop();
  }
  return record;
}
