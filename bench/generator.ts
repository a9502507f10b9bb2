// The load generator: one process speaking Engine.IO v4 / Socket.IO v5 directly over ws and node:http,
// driven by the harness over IPC. It holds the connections, runs one phase at a time, and reads the
// server's CPU (/proc) at the exact start and end of each measured window.
import { Agent, request } from 'node:http';
import { WebSocket } from 'ws';
import { cpuDelta, readCpu, readMachine, type CpuSample, type MachineSample } from './proc';
import { Samples, type Distribution } from './samples';

/** Commands of the harness; every one answers `{ id, result }` or `{ id, error }`. */
export type GeneratorRequest =
  | { id: number; cmd: 'target'; port: number; serverPid: number; serverCpu?: number; addresses: number }
  | { id: number; cmd: 'connect'; count: number; concurrency: number }
  | { id: number; cmd: 'broadcast'; mode: 'saturate' | 'paced'; warmupMs: number; measureMs: number; window: number; rate: number; payloadBytes: number }
  | { id: number; cmd: 'echo'; clients: number; warmupMs: number; measureMs: number; payloadBytes: number }
  | { id: number; cmd: 'churn'; concurrency: number; warmupMs: number; measureMs: number }
  | { id: number; cmd: 'polling-echo'; clients: number; warmupMs: number; measureMs: number; payloadBytes: number }
  | { id: number; cmd: 'capture'; transport: 'websocket' | 'polling'; frames: number }
  | { id: number; cmd: 'stop' };

/** CPU of the server and of the generator over the measured window. */
export interface Window {
  wallMs: number;
  server: { userMs: number; systemMs: number; totalMs: number };
  /** The generator's own CPU, ms: near wallMs means the generator, not the server, was the limit. */
  generatorMs: number;
  /**
   * CPU other processes took meanwhile (cores, averaged over the window): on the whole machine, and on
   * the server's CPU. Anything but ~0 means the figures are disturbed by something else running.
   */
  otherLoad: number;
  otherLoadServerCpu: number | undefined;
}

export interface ConnectResult {
  ok: number;
  failed: number;
  total: number;
  ms: number;
  errors: Record<string, number>;
}

export interface BroadcastResult {
  window: Window;
  receivers: number;
  broadcasts: number;
  deliveries: number;
  /** Deliveries of all broadcasts sent that never arrived (after a bounded drain). */
  missing: number;
  latency: Distribution | undefined;
}

export interface EchoResult {
  window: Window;
  clients: number;
  acks: number;
  requests: number;
  rtt: Distribution | undefined;
  errors: Record<string, number>;
}

export interface ChurnResult {
  window: Window;
  cycles: number;
  errors: Record<string, number>;
}

const MAX_LIFETIME_MS = 15 * 60 * 1000;
const CONNECT_TIMEOUT_MS = 15000;
/** Longest wait for in-flight deliveries after a window closes. */
const DRAIN_MS = 5000;

let port = 0;
let serverPid = 0;
let addresses = 1;
let addressCursor = 0;

/** Spreads connections over 127.0.0.2 … 127.0.0.(addresses+1): each source address has its own ephemeral ports. */
function nextAddress(): string {
  const address = `127.0.0.${2 + (addressCursor % addresses)}`;
  addressCursor++;
  return address;
}

function wsUrl(): string {
  return `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`;
}

function count(errors: Record<string, number>, key: string): void {
  errors[key] = (errors[key] ?? 0) + 1;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// --- measured windows ---

let serverCpu: number | undefined;

class Meter {
  private serverStart: CpuSample | undefined;
  private genStart: NodeJS.CpuUsage | undefined;
  private machineStart: MachineSample | undefined;

  start(): void {
    this.machineStart = readMachine();
    this.genStart = process.cpuUsage();
    this.serverStart = readCpu(serverPid);
  }

  stop(): Window {
    const server = cpuDelta(this.serverStart as CpuSample, readCpu(serverPid));
    const gen = process.cpuUsage(this.genStart);
    const machine = readMachine();
    const before = this.machineStart as MachineSample;
    const generatorMs = (gen.user + gen.system) / 1000;
    const other = machine.totalMs - before.totalMs - server.totalMs - generatorMs;
    const onServerCpu = serverCpu === undefined ? undefined : (machine.perCpuMs[serverCpu] ?? 0) - (before.perCpuMs[serverCpu] ?? 0) - server.totalMs;
    return {
      wallMs: server.wallMs,
      server: { userMs: server.userMs, systemMs: server.systemMs, totalMs: server.totalMs },
      generatorMs,
      otherLoad: Math.max(0, other) / server.wallMs,
      otherLoadServerCpu: onServerCpu === undefined ? undefined : Math.max(0, onServerCpu) / server.wallMs,
    };
  }
}

/** Runs warmup, then the measured window; `onStart` / `onStop` flip the scenario's counters. */
async function runWindow(warmupMs: number, measureMs: number, onStart: () => void, onStop: () => void): Promise<Window> {
  const meter = new Meter();
  await sleep(warmupMs);
  onStart();
  meter.start();
  await sleep(measureMs);
  const window = meter.stop();
  onStop();
  return window;
}

// --- WebSocket connections ---

interface Conn {
  readonly ws: WebSocket;
  /** Called with each Socket.IO message (Engine.IO `4…`) once connected. */
  onMessage: ((conn: Conn, data: Buffer) => void) | undefined;
  ackId: number;
  sentAt: number;
  /** Every text frame received, when recording (check mode). */
  record: string[] | undefined;
}

const conns: Conn[] = [];

/** Opens a WebSocket session and joins the main namespace; resolves once the CONNECT reply arrived. */
function openConn(record?: string[]): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(), { perMessageDeflate: false, localAddress: nextAddress(), handshakeTimeout: CONNECT_TIMEOUT_MS });
    const conn: Conn = { ws, onMessage: undefined, ackId: 0, sentAt: 0, record };
    let stage = 0;
    const fail = (why: string): void => {
      if (stage === 3) return;
      stage = 3;
      clearTimeout(timer);
      ws.terminate();
      reject(new Error(why));
    };
    const timer = setTimeout(fail, CONNECT_TIMEOUT_MS, 'connect timeout');
    ws.on('message', (data: Buffer) => {
      conn.record?.push(data.toString());
      if (data.length === 1 && data[0] === 0x32) {
        ws.send('3');
        return;
      }
      if (stage === 2) {
        if (data[0] === 0x34) conn.onMessage?.(conn, data);
        return;
      }
      if (stage === 0 && data[0] === 0x30) {
        stage = 1;
        ws.send('40');
      } else if (stage === 1 && data[0] === 0x34 && data[1] === 0x30) {
        stage = 2;
        clearTimeout(timer);
        resolve(conn);
      } else if (stage !== 3) {
        fail(`unexpected frame ${data.toString().slice(0, 40)}`);
      }
    });
    ws.on('error', (err) => fail(err.message));
    ws.on('close', () => fail('closed while connecting'));
  });
}

/** Runs `task` `total` times with at most `concurrency` at once, until the deadline. */
async function pool(total: number, concurrency: number, deadline: number, task: () => Promise<void>): Promise<void> {
  let started = 0;
  const worker = async (): Promise<void> => {
    while (started < total && performance.now() < deadline) {
      started++;
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));
}

async function connect(n: number, concurrency: number): Promise<ConnectResult> {
  const t0 = performance.now();
  const errors: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  await pool(n, concurrency, t0 + 5 * 60 * 1000, async () => {
    try {
      conns.push(await openConn());
      ok++;
    } catch (err) {
      failed++;
      count(errors, (err as Error).message.slice(0, 60));
    }
  });
  return { ok, failed, total: conns.length, ms: performance.now() - t0, errors };
}

// --- broadcast fan-out ---

const TICK_PREFIX = Buffer.from('42["tick",{"t":');

function padding(bytes: number): string {
  return 'x'.repeat(Math.max(0, bytes));
}

async function broadcast(req: Extract<GeneratorRequest, { cmd: 'broadcast' }>): Promise<BroadcastResult> {
  const receivers = conns.length;
  if (receivers === 0) throw new Error('no connections');
  const trigger = conns[0].ws;
  const pad = padding(req.payloadBytes);
  const latency = new Samples();
  let sent = 0;
  let received = 0;
  let measuring = false;
  let stopped = false;
  let windowStart = Infinity;
  let windowEnd = Infinity;
  let firstInWindow = -1;
  let lastInWindow = -1;
  let windowDeliveries = 0;
  const limit = req.window * receivers;
  const send = (): void => {
    const i = sent++;
    trigger.send(`42["bcast",{"t":${performance.now().toFixed(3)},"i":${i},"p":"${pad}"}]`);
    if (measuring) {
      if (firstInWindow < 0) firstInWindow = i;
      lastInWindow = i;
    }
  };
  const pump = (): void => {
    for (let guard = 0; !stopped && sent * receivers - received < limit && guard < req.window; guard++) send();
  };
  const paced = req.mode === 'paced';
  const onTick = (_conn: Conn, data: Buffer): void => {
    if (data.compare(TICK_PREFIX, 0, TICK_PREFIX.length, 0, TICK_PREFIX.length) !== 0) return;
    received++;
    if (measuring) windowDeliveries++;
    if (paced) {
      // latency of the broadcasts sent inside the window, however late they arrive
      const t = parseFloat(data.toString('latin1', TICK_PREFIX.length, TICK_PREFIX.length + 24));
      if (t >= windowStart && t < windowEnd) latency.add(performance.now() - t);
    } else if (!stopped && sent * receivers - received < limit) {
      pump();
    }
  };
  for (const conn of conns) conn.onMessage = onTick;
  let timer: NodeJS.Timeout | undefined;
  if (paced) {
    timer = setInterval(() => {
      if (!stopped) send();
    }, 1000 / req.rate);
  } else {
    pump();
  }
  const window = await runWindow(
    req.warmupMs,
    req.measureMs,
    () => {
      measuring = true;
      windowStart = performance.now();
    },
    () => {
      measuring = false;
      stopped = true;
      windowEnd = performance.now();
    },
  );
  clearInterval(timer);
  const broadcasts = firstInWindow < 0 ? 0 : lastInWindow - firstInWindow + 1;
  // deliveries still on their way: wait a bounded time for every broadcast sent to arrive everywhere
  const drainDeadline = performance.now() + DRAIN_MS;
  while (received < sent * receivers && performance.now() < drainDeadline) await sleep(20);
  for (const conn of conns) conn.onMessage = undefined;
  return {
    window,
    receivers,
    broadcasts,
    deliveries: windowDeliveries,
    missing: Math.max(0, sent * receivers - received),
    latency: latency.summary(),
  };
}

// --- echo with ack over WebSocket ---

async function echo(req: Extract<GeneratorRequest, { cmd: 'echo' }>): Promise<EchoResult> {
  const clients = conns.slice(0, req.clients);
  const pad = padding(req.payloadBytes);
  const rtt = new Samples();
  let acks = 0;
  let running = true;
  let measuring = false;
  const fire = (conn: Conn): void => {
    const id = conn.ackId++;
    conn.sentAt = performance.now();
    conn.ws.send(`42${id}["echo",{"i":${id},"p":"${pad}"}]`);
  };
  const onAck = (conn: Conn, data: Buffer): void => {
    if (data[1] !== 0x33) return;
    if (measuring) {
      acks++;
      rtt.add(performance.now() - conn.sentAt);
    }
    if (running) fire(conn);
  };
  for (const conn of clients) {
    conn.onMessage = onAck;
    fire(conn);
  }
  const window = await runWindow(
    req.warmupMs,
    req.measureMs,
    () => (measuring = true),
    () => {
      measuring = false;
      running = false;
    },
  );
  await sleep(100);
  for (const conn of clients) conn.onMessage = undefined;
  return { window, clients: clients.length, acks, requests: acks, rtt: rtt.summary(), errors: {} };
}

// --- connection churn: connect, namespace CONNECT, leave, close ---

function churnCycle(): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(), { perMessageDeflate: false, localAddress: nextAddress(), handshakeTimeout: CONNECT_TIMEOUT_MS });
    let stage = 0;
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('cycle timeout'));
    }, CONNECT_TIMEOUT_MS);
    ws.on('message', (data: Buffer) => {
      if (stage === 0 && data[0] === 0x30) {
        stage = 1;
        ws.send('40');
      } else if (stage === 1 && data[0] === 0x34 && data[1] === 0x30) {
        stage = 2;
        // what socket.io-client's disconnect() does: leave the namespace, then close the WebSocket
        ws.send('41');
        ws.close();
      }
    });
    ws.on('error', () => {});
    ws.on('close', () => {
      clearTimeout(timer);
      if (stage === 2) resolve();
      else reject(new Error(`closed at stage ${stage}`));
    });
  });
}

async function churn(req: Extract<GeneratorRequest, { cmd: 'churn' }>): Promise<ChurnResult> {
  const errors: Record<string, number> = {};
  let cycles = 0;
  let measuring = false;
  let running = true;
  const loops = Array.from({ length: req.concurrency }, async () => {
    const deadline = performance.now() + req.warmupMs + req.measureMs + 30000;
    while (running && performance.now() < deadline) {
      try {
        await churnCycle();
        if (measuring) cycles++;
      } catch (err) {
        count(errors, (err as Error).message);
        await sleep(10);
      }
    }
  });
  const window = await runWindow(
    req.warmupMs,
    req.measureMs,
    () => (measuring = true),
    () => {
      measuring = false;
      running = false;
    },
  );
  await Promise.all(loops);
  return { window, cycles, errors };
}

// --- long-polling echo ---

interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 1024 });

function http(method: 'GET' | 'POST', path: string, body?: string): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (body !== undefined) {
      headers['Content-Type'] = 'text/plain;charset=UTF-8';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(60000, () => req.destroy(new Error('http timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

function pollingPath(sid?: string): string {
  return `/socket.io/?EIO=4&transport=polling${sid ? `&sid=${sid}` : ''}`;
}

async function pollingEcho(req: Extract<GeneratorRequest, { cmd: 'polling-echo' }>): Promise<EchoResult> {
  const pad = padding(req.payloadBytes);
  const rtt = new Samples();
  const errors: Record<string, number> = {};
  let acks = 0;
  let requests = 0;
  let measuring = false;
  let running = true;
  let connected = 0;
  const counted = <T>(p: Promise<T>): Promise<T> =>
    p.then((value) => {
      if (measuring) requests++;
      return value;
    });

  const client = async (): Promise<void> => {
    const open = await http('GET', pollingPath());
    const sid = (JSON.parse(open.body.slice(1)) as { sid: string }).sid;
    let ackId = 0;
    let sentAt = 0;
    let joined = false;
    const post = (payload: string): void => {
      counted(http('POST', pollingPath(sid), payload)).catch((err: Error) => count(errors, `POST ${err.message}`));
    };
    const fire = (): void => {
      const id = ackId++;
      sentAt = performance.now();
      post(`42${id}["echo",{"i":${id},"p":"${pad}"}]`);
    };
    post('40');
    const deadline = performance.now() + req.warmupMs + req.measureMs + 30000;
    while (running && performance.now() < deadline) {
      const answer = await counted(http('GET', pollingPath(sid)));
      if (answer.status !== 200) {
        count(errors, `GET ${answer.status}`);
        return;
      }
      for (const packet of answer.body.split('\x1e')) {
        if (packet === '2') post('3');
        else if (packet.startsWith('40')) {
          if (!joined) {
            joined = true;
            connected++;
            fire();
          }
        } else if (packet.startsWith('43')) {
          if (measuring) {
            acks++;
            rtt.add(performance.now() - sentAt);
          }
          if (running) fire();
        } else if (packet === '1') return;
      }
    }
  };
  const clients = Array.from({ length: req.clients }, () => client().catch((err: Error) => count(errors, err.message)));
  const window = await runWindow(
    req.warmupMs,
    req.measureMs,
    () => (measuring = true),
    () => {
      measuring = false;
      running = false;
    },
  );
  // the held GETs are answered by the last acks or the next ping; the process ends with the run
  void clients;
  return { window, clients: connected, acks, requests, rtt: rtt.summary(), errors };
}

// --- check mode: the first frames a fixed script gets from the server ---

/** Waits (bounded) until `list` has at least `n` entries. */
async function until(list: unknown[], n: number, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (list.length < n && performance.now() < deadline) await sleep(5);
}

async function capture(req: Extract<GeneratorRequest, { cmd: 'capture' }>): Promise<Record<string, string[]>> {
  if (req.transport === 'websocket') {
    const a: string[] = [];
    const b: string[] = [];
    const connA = await openConn(a);
    connA.ws.send('421["echo",{"a":1,"s":"é\\u2028","n":[2.5,"x",null]}]');
    await until(a, 3);
    const connB = await openConn(b);
    connA.ws.send('42["bcast",{"i":1}]');
    await until(b, 3);
    connB.ws.send('42["bcast",[1,2.5,null,"é"]]');
    await until(a, 5);
    await until(b, 4);
    connA.ws.send('422["echo",[]]');
    await until(a, 6);
    connA.ws.send('41');
    connA.ws.close();
    connB.ws.close();
    await sleep(100);
    return { 'client A': a.slice(0, req.frames), 'client B': b.slice(0, req.frames) };
  }
  const out: string[] = [];
  const show = (label: string, r: HttpAnswer): void => {
    out.push(`${label} ${r.status} content-type=${String(r.headers['content-type'])} cache-control=${String(r.headers['cache-control'])} | ${r.body}`);
  };
  const open = await http('GET', pollingPath());
  show('GET', open);
  const sid = (JSON.parse(open.body.slice(1)) as { sid: string }).sid;
  show('POST 40 ->', await http('POST', pollingPath(sid), '40'));
  show('GET', await http('GET', pollingPath(sid)));
  const held = http('GET', pollingPath(sid));
  show('POST echo ->', await http('POST', pollingPath(sid), '421["echo",{"a":1,"s":"é\\u2028","n":[2.5,"x",null]}]'));
  show('GET', await held);
  show('POST bcast ->', await http('POST', pollingPath(sid), '42["bcast",{"i":1}]'));
  show('GET', await http('GET', pollingPath(sid)));
  show('POST 41+1 ->', await http('POST', pollingPath(sid), '41\x1e1'));
  return { polling: out.slice(0, req.frames) };
}

// --- IPC ---

async function handle(msg: GeneratorRequest): Promise<unknown> {
  switch (msg.cmd) {
    case 'target':
      port = msg.port;
      serverPid = msg.serverPid;
      serverCpu = msg.serverCpu;
      addresses = Math.max(1, msg.addresses);
      return true;
    case 'connect':
      return connect(msg.count, msg.concurrency);
    case 'broadcast':
      return broadcast(msg);
    case 'echo':
      return echo(msg);
    case 'churn':
      return churn(msg);
    case 'polling-echo':
      return pollingEcho(msg);
    case 'capture':
      return capture(msg);
    case 'stop':
      setImmediate(() => process.exit(0));
      return true;
    default:
      throw new Error(`unknown command ${(msg as { cmd?: string }).cmd}`);
  }
}

if (!process.send) throw new Error('start the generator from the bench harness (it needs an IPC channel)');
setTimeout(() => process.exit(3), MAX_LIFETIME_MS).unref();
process.on('disconnect', () => process.exit(2));
process.on('message', (raw) => {
  const msg = raw as GeneratorRequest;
  handle(msg).then(
    (result) => process.send?.({ id: msg.id, result }),
    (err: Error) => process.send?.({ id: msg.id, error: err.stack ?? String(err) }),
  );
});
process.send({ type: 'ready' });
