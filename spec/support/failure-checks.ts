// What the failure scenarios check on a node while its Redis is away, and on the cluster once it is back.
import assert from 'node:assert/strict';
import type { AdapterKind, RedisLibrary } from './cluster';
import { CLUSTER_ADAPTER_TIMEOUT, MARGIN, nextOn, reaches, REQUEST_TIMEOUT, until, type FailureNode, type NodeReply, type Peer } from './failure-rig';
import { redisVersion } from './redis';

/** Why the sharded adapter cannot run here (sharded Pub/Sub came with Redis 7.0), or undefined. */
export function noSharded(): string | undefined {
  const version = redisVersion();
  return version && version[0] < 7 ? `redis-server ${version.join('.')} has no sharded Pub/Sub (Redis >= 7)` : undefined;
}

/** Each official adapter over node-redis, the classic one over ioredis too: [adapter, library, title, why skipped]. */
export const VARIANTS: ReadonlyArray<readonly [AdapterKind, RedisLibrary, string, string | undefined]> = [
  ['redis', 'node-redis', 'classic adapter, node-redis', undefined],
  ['redis', 'ioredis', 'classic adapter, ioredis', undefined],
  ['sharded', 'node-redis', 'sharded adapter, node-redis', noSharded()],
  ['sharded', 'ioredis', 'sharded adapter, ioredis', noSharded()],
  ['streams', 'node-redis', 'Streams adapter, node-redis', undefined],
];

/** A frozen or killed node does not depend on the Redis library: each adapter once, the classic one over both. */
export const NODE_VARIANTS = VARIANTS.filter(([adapter, library]) => adapter !== 'sharded' || library === 'node-redis');

/** How long serverSideEmitWithAck may take to fail: the classic adapter's requestsTimeout, the others' fixed 5 s. */
export function serverSideTimeout(adapter: AdapterKind): number {
  return adapter === 'redis' ? REQUEST_TIMEOUT : CLUSTER_ADAPTER_TIMEOUT;
}

export interface AwayOutcome {
  fetchSockets: NodeReply;
  serverSideEmitWithAck: NodeReply;
  emitWithAck: NodeReply;
  /** The local broadcasts reached the node's clients (already, or once Redis is back: see `localNow`). */
  delivered: Promise<void>;
}

/**
 * `node` cannot reach Redis: a broadcast still reaches its own clients (`local`, the first of them in room
 * "r"), and the cluster-wide requests settle within their timeout (plus a margin) instead of hanging.
 * `mute` is a local client that never answers: a broadcast with acks names it in `missing`.
 * `localNow` false: the adapter delivers locally only once its publish to Redis settled (socket.io-adapter's
 * ClusterAdapter: the sharded and Streams adapters), so the local delivery is awaited by the caller later.
 */
export async function checkAway(node: FailureNode, adapter: AdapterKind, local: Peer[], mute: Peer | undefined, round: number, localNow = true): Promise<AwayOutcome> {
  const everyone = local.map((peer) => nextOn(peer, 'local', 20000));
  const inRoom = nextOn(local[0], 'local-room', 20000);
  await node.value({ op: 'emit', event: 'local', args: [round] });
  await node.value({ op: 'emit', event: 'local-room', args: [round], room: 'r' });
  const delivered = (async () => {
    assert.deepEqual(await Promise.all(everyone), local.map(() => round), `${node.name}: local delivery while Redis is away`);
    assert.equal(await inRoom, round);
  })();
  if (localNow) await delivered;
  else delivered.catch(() => {}); // awaited by the caller

  const [fetchSockets, serverSideEmitWithAck, emitWithAck] = await Promise.all([
    node.request({ op: 'fetchSockets', timeout: REQUEST_TIMEOUT }),
    node.request({ op: 'serverSideEmitWithAck' }, serverSideTimeout(adapter) + MARGIN),
    node.request({ op: 'emitWithAck', timeout: REQUEST_TIMEOUT, args: [round] }),
  ]);
  assert.ok(fetchSockets.error, `${node.name}: fetchSockets fails while Redis is away`);
  assert.ok(serverSideEmitWithAck.error, `${node.name}: serverSideEmitWithAck fails while Redis is away`);
  // the broadcast with acks: the local answers arrive, the other node's never do
  assert.ok(emitWithAck.error, `${node.name}: a broadcast with acks fails while Redis is away`);
  const answering = local.filter((p) => p !== mute);
  assert.deepEqual([...(emitWithAck.error.responses ?? [])].sort(), answering.map((p) => `${p.name}:${round}`).sort());
  assert.deepEqual(emitWithAck.error.missing, mute ? [mute.id] : []);
  return { fetchSockets, serverSideEmitWithAck, emitWithAck, delivered };
}

/**
 * Everything works again across the two nodes, by itself: broadcasts both ways, to a room, serverCount,
 * fetchSockets, serverSideEmitWithAck, a broadcast with acks over both nodes. `pa`, `pb`: clients of A
 * and B in room "r"; `others`: further clients (not in "r").
 */
export async function checkResumed(a: FailureNode, b: FailureNode, pa: Peer, pb: Peer, others: Peer[] = []): Promise<void> {
  await reaches(a, pb);
  await reaches(b, pa);
  await reaches(a, pb, 'r');
  await reaches(b, pa, 'r');
  for (const node of [a, b]) await until(async () => (await node.value<number>({ op: 'serverCount' })) === 2, `${node.name}: serverCount 2`);
  const ids = [pa, pb, ...others].map((p) => p.id).sort();
  assert.deepEqual(await a.value({ op: 'fetchSockets', timeout: REQUEST_TIMEOUT }), ids);
  assert.deepEqual(await b.value({ op: 'fetchSockets', timeout: REQUEST_TIMEOUT }), ids);
  assert.deepEqual(await a.value({ op: 'fetchSockets', timeout: REQUEST_TIMEOUT, room: 'r' }), [pa.id, pb.id].sort());
  assert.deepEqual(await a.value({ op: 'serverSideEmitWithAck' }), [b.name]);
  assert.deepEqual(await b.value({ op: 'serverSideEmitWithAck' }), [a.name]);
  const answers = await b.value<string[]>({ op: 'emitWithAck', timeout: 2000, room: 'r', args: ['back'] }, 2000 + MARGIN);
  assert.deepEqual([...answers].sort(), [`${pa.name}:back`, `${pb.name}:back`].sort());
}
