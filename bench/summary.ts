// The summary of a run: the table rows (metric, unit, target), medians and paired ratios per row, and the
// text / Markdown table cells.
import { ALL_SERVERS, type Config, type RunRecord, type ScenarioName, type ServerName } from './scenarios';
import { fmt, fmtSpread, pairedRatios, spread, type Spread } from './stats';

export interface Row {
  key: string;
  label: string;
  unit: string;
  better: 'lower' | 'higher';
  /** ours ÷ ceiling must stay at or under this. */
  target?: number;
  detail?: boolean;
  /** No ceiling for this row (NO_CEILING): the status column shows ours ÷ socket.io instead. */
  vsSocketIo?: boolean;
}

function k(n: number): string {
  return n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

export function rowsFor(cfg: Config): Row[] {
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
  rows.push({ key: 'rbcast.cpu', label: `broadcast to ${b} with the Redis adapter, saturating: CPU per delivery`, unit: 'µs', better: 'lower', vsSocketIo: true });
  rows.push({ key: 'rbcast.rate', label: `broadcast to ${b} with the Redis adapter: deliveries per second`, unit: '/s', better: 'higher', vsSocketIo: true });
  rows.push({ key: 'rbcast.user', label: `broadcast to ${b} with the Redis adapter: user CPU per delivery`, unit: 'µs', better: 'lower', detail: true, vsSocketIo: true });
  rows.push({ key: 'rbcast.sys', label: `broadcast to ${b} with the Redis adapter: system CPU per delivery`, unit: 'µs', better: 'lower', detail: true, vsSocketIo: true });
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
export function deriveGrowth(cfg: Config, runs: RunRecord[]): void {
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

export interface SummaryRow {
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

export function summarize(cfg: Config, reps: number, runs: RunRecord[]): SummaryRow[] {
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
    if (row.vsSocketIo) {
      status = oursToSio ? `ours/socket.io ${fmtSpread(oursToSio)} (no ceiling: it has no Redis)` : 'no ceiling (it has no Redis)';
    } else if (oursToSio && row.better === 'lower' && (row.target !== undefined || !row.detail)) {
      status += `${status ? ', ' : ''}${oursToSio.median < 1 ? 'ahead of' : 'BEHIND'} socket.io`;
    }
    out.push({ row, values, oursToCeiling, sioToCeiling, oursToSio, oursToCeilingExpress, status });
  }
  return out;
}

/** Columns: metric, one per server run, the ratios, the target check (`withTarget`). */
export function tableHeader(servers: ServerName[], withTarget: boolean): string[] {
  const shown = ALL_SERVERS.filter((s) => servers.includes(s));
  const header = ['metric', ...shown, 'ours/ceiling (min–max)', 'socket.io/ceiling (min–max)'];
  if (servers.includes('ceiling+express')) header.push('ours/(ceiling+express)');
  if (withTarget) header.push('target');
  return header;
}

export function tableCells(s: SummaryRow, servers: ServerName[], withTarget: boolean): string[] {
  const shown = ALL_SERVERS.filter((x) => servers.includes(x));
  const cells = [`${s.row.label} (${s.row.unit})`, ...shown.map((name) => fmt(s.values[name]?.median)), fmtSpread(s.oursToCeiling), fmtSpread(s.sioToCeiling)];
  if (servers.includes('ceiling+express')) cells.push(fmtSpread(s.oursToCeilingExpress));
  if (withTarget) cells.push(s.status);
  return cells;
}

/** Load of other processes during the measured windows, cores. */
export function interference(runs: RunRecord[]): { machine: Spread; cpu0: Spread } | undefined {
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

export function scenarioOfKey(key: string): ScenarioName | undefined {
  const prefix = key.split('.')[0];
  const map: Record<string, ScenarioName> = { idle: 'idle', bcast: 'broadcast', rbcast: 'redis-broadcast', paced: 'paced', echo: 'echo', churn: 'churn', poll: 'polling', growth: 'growth' };
  return map[prefix];
}
