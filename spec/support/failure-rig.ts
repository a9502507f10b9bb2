// Failure scenarios across nodes: each node a child process (spec/support/failure-node.ts) that can be
// SIGKILLed or SIGSTOPped, a redis-server that can be restarted empty on its port, the test's clients,
// and the requests the test makes of a node over IPC, each bounded.
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { join as joinPath } from 'node:path';
import type { TestContext } from 'node:test';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import type { AdapterKind, NodeKind, RedisLibrary } from './cluster';
import { closeClient, connected } from './io';
import { spawnOn, startRedis, type RedisServer } from './redis';
import { once, within } from './wait';

export interface FailureNodeConfig {
  name: string;
  kind: NodeKind;
  adapter: AdapterKind;
  library: RedisLibrary;
  redisUrl: string;
  /** Applies docs/scaling.md's workaround for the adapters' uncaught PUBLISH rejections (node-redis). */
  catchPublishes: boolean;
  /**
   * The publishing client of the classic and sharded adapters fails commands while disconnected instead
   * of queueing them (node-redis `disableOfflineQueue`, ioredis `enableOfflineQueue: false`).
   */
  failFast: boolean;
  /** The classic adapter's requestsTimeout (ms). */
  requestsTimeout: number;
  lifetimeMs: number;
}

export interface NodeRequest {
  id?: number;
  op: 'emit' | 'emitWithAck' | 'fetchSockets' | 'serverSideEmitWithAck' | 'serverCount' | 'redisReady' | 'close';
  room?: string;
  /** Through io.timeout(ms). */
  timeout?: number;
  event?: string;
  args?: unknown[];
}

export interface NodeReply {
  id?: number;
  value?: unknown;
  error?: { message: string; missing?: string[]; responses?: unknown[] };
  /** How long the node took to settle the request. */
  ms: number;
}

interface Fault {
  event: string;
  message: string;
  stack?: string;
}

const NODE = joinPath(__dirname, 'failure-node.ts');
/** The classic adapter's requestsTimeout and the timeout the test's requests pass: short, the test waits for it. */
export const REQUEST_TIMEOUT = 500;
/** What a request may take beyond its timeout: scheduling on a shared, busy machine. */
export const MARGIN = 1500;
/** The sharded and Streams adapters answer serverSideEmitWithAck after their fixed 5 s (socket.io-adapter). */
export const CLUSTER_ADAPTER_TIMEOUT = 5000;

/** A node in a child process: requests over IPC, the faults its detector reported, signals. */
export class FailureNode {
  readonly faults: Fault[] = [];
  private readonly pending = new Map<number, (reply: NodeReply) => void>();
  private nextId = 1;
  private exited: Promise<void>;

  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly url: string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    child.on('message', (message: NodeReply & { type?: string } & Fault) => {
      if (message.type === 'fault') this.faults.push(message);
      else if (message.id !== undefined) this.pending.get(message.id)?.(message);
    });
  }

  /** Forks the node and resolves once it listens; it is SIGKILLed at the end of the test. */
  static async start(t: TestContext, config: Omit<FailureNodeConfig, 'lifetimeMs'>): Promise<FailureNode> {
    const child = fork(NODE, [], {
      execArgv: ['--import', 'tsx'],
      env: { ...process.env, FAILURE_NODE: JSON.stringify({ ...config, lifetimeMs: 60000 }) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const faults: Fault[] = [];
    const onFault = (m: Fault & { type?: string }): void => {
      if (m.type === 'fault') faults.push(m);
    };
    child.on('message', onFault);
    const [ready] = await within(
      new Promise<[{ url: string }]>((resolve, reject) => {
        child.on('message', (m: { type?: string; url: string }) => {
          if (m.type === 'ready') resolve([m]);
        });
        child.once('exit', (code, signal) => reject(new Error(`node ${config.name} exited (${code ?? signal}) before ready: ${JSON.stringify(faults)}`)));
      }),
      20000,
      `node ${config.name} ready`,
    );
    child.off('message', onFault);
    const node = new FailureNode(config.name, child, ready.url);
    node.faults.push(...faults);
    return node;
  }

  /** Sends a request; resolves with the node's reply, rejects when none came within `ms`. */
  request(request: NodeRequest, ms = REQUEST_TIMEOUT + MARGIN): Promise<NodeReply> {
    const id = this.nextId++;
    const reply = new Promise<NodeReply>((resolve) => this.pending.set(id, resolve));
    this.child.send({ ...request, id });
    return within(reply, ms, `${this.name} ${request.op}`).finally(() => this.pending.delete(id));
  }

  /** The request's value; fails on an error reply. */
  async value<T = unknown>(request: NodeRequest, ms?: number): Promise<T> {
    const reply = await this.request(request, ms);
    assert.equal(reply.error, undefined, `${this.name} ${request.op}: ${reply.error?.message}`);
    return reply.value as T;
  }

  signal(signal: 'SIGKILL' | 'SIGSTOP' | 'SIGCONT'): void {
    this.child.kill(signal);
  }

  /** SIGKILLs the node and waits until it is gone. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await within(this.exited, 5000, `${this.name} exit`);
  }

  /**
   * Resolves once none of the node's Redis clients is connected. A node-redis command written before the
   * client saw its connection drop is rejected, and the classic adapter and the Streams adapter do not
   * catch their PUBLISH: an unhandled rejection in that window, socket.io's nodes included (documented
   * in docs/scaling.md, "Failures"). The scenarios start their checks once the node knows.
   */
  async noticedRedisAway(): Promise<void> {
    await until(async () => !(await this.value<boolean[]>({ op: 'redisReady' })).some(Boolean), `${this.name}: Redis clients disconnected`);
  }

  /** The detector stayed silent. */
  assertNoFaults(): void {
    assert.deepEqual(this.faults, [], `${this.name}: unhandled rejections or uncaught exceptions`);
  }
}

/** A redis-server the test can restart, empty, on the same port. */
export interface RestartableRedis {
  readonly port: number;
  readonly url: string;
  /** Stops the server and waits until it is gone (its clients see their connections closed). */
  down(): Promise<void>;
  /** Starts a new, empty server on the same port. */
  up(): Promise<void>;
}

export async function startRestartableRedis(t: TestContext): Promise<RestartableRedis> {
  const first: RedisServer = await startRedis(t);
  let current: ChildProcess | undefined;
  t.after(() => {
    if (current && current.exitCode === null && current.signalCode === null) current.kill('SIGKILL');
  });
  let isUp = true;
  return {
    port: first.port,
    url: first.url,
    async down() {
      assert.ok(isUp);
      isUp = false;
      if (!current) {
        await first.stop();
        return;
      }
      const exited = new Promise<void>((resolve) => current?.once('exit', () => resolve()));
      current.kill('SIGKILL');
      await within(exited, 5000, 'redis-server exit');
    },
    async up() {
      assert.ok(!isUp);
      current = await spawnOn(first.port);
      isUp = true;
    },
  };
}

/** A client of the test: connected to `node`, in `rooms`, answering "q" with `<name>:<arg>` unless mute. */
export interface Peer {
  readonly socket: ClientSocket;
  readonly id: string;
  readonly name: string;
}

export async function connectPeer(t: TestContext, node: FailureNode, name: string, { rooms = [] as string[], mute = false } = {}): Promise<Peer> {
  const socket = ioClient(node.url, { forceNew: true, reconnection: false, transports: ['websocket'], auth: { rooms } });
  t.after(() => closeClient(socket));
  if (!mute) socket.on('q', (x: unknown, ack: (answer: string) => void) => ack(`${name}:${String(x)}`));
  await connected(socket);
  return { socket, id: socket.id as string, name };
}

/**
 * Resolves once a broadcast of `from` (to everyone, or to `room`) reaches `to`: the cluster is wired
 * (again). Each round emits a fresh marker and waits for it a while; at most 60 rounds.
 */
export async function reaches(from: FailureNode, to: Peer, room?: string): Promise<void> {
  for (let round = 0; round < 60; round++) {
    const marker = `${from.name}-${round}`;
    const got = new Promise<boolean>((resolve) => {
      const listener = (value: string): void => {
        if (value !== marker) return;
        to.socket.off('sync', listener);
        resolve(true);
      };
      to.socket.on('sync', listener);
      setTimeout(() => {
        to.socket.off('sync', listener);
        resolve(false);
      }, 250);
    });
    await from.value({ op: 'emit', event: 'sync', args: [marker], room }, 5000);
    if (await got) return;
  }
  throw new Error(`a broadcast of ${from.name} does not reach ${to.name}`);
}

/** The next `ev` the peer receives (its first argument: our nodes add a recovery offset after it). */
export async function nextOn(peer: Peer, ev: string, ms?: number): Promise<unknown> {
  const [first] = await once(peer.socket, ev, ms);
  return first;
}

/** Resolves once `check()` holds, checked every 20 ms; bounded. */
export async function until(check: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Starts node `name` of `kind` (ours unless told) over `adapter`. */
export function startNode(
  t: TestContext,
  name: string,
  adapter: AdapterKind,
  library: RedisLibrary,
  redisUrl: string,
  { kind = 'ours' as NodeKind, failFast = false } = {},
): Promise<FailureNode> {
  return FailureNode.start(t, { name, kind, adapter, library, redisUrl, requestsTimeout: REQUEST_TIMEOUT, catchPublishes: true, failFast });
}
