// Redis away under two nodes of ours (child processes): Redis restarted empty mid-run, and the link between
// one node and Redis cut and healed, over each official adapter (and with a publishing client that fails
// fast). Local delivery goes on, cluster-wide requests fail within their timeout, nothing is left
// unhandled, and the cluster resumes by itself.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { AdapterKind, RedisLibrary } from '../support/cluster';
import { checkAway, checkResumed, noSharded, VARIANTS } from '../support/failure-checks';
import { connectPeer, reaches, REQUEST_TIMEOUT, startNode, startRestartableRedis, until, type FailureNode } from '../support/failure-rig';
import { redisMissing } from '../support/redis';
import { startProxy } from '../support/tcp-proxy';

interface Scenario {
  adapter: AdapterKind;
  library: RedisLibrary;
  /** The publishing client fails commands while disconnected (see FailureNodeConfig.failFast). */
  failFast?: boolean;
}

async function redisRestarted(t: TestContext, { adapter, library, failFast = false }: Scenario): Promise<void> {
  const redis = await startRestartableRedis(t);
  const start = (name: string): Promise<FailureNode> => startNode(t, name, adapter, library, redis.url, { failFast });
  const [a, b] = await Promise.all([start('A'), start('B')]);
  const pa = await connectPeer(t, a, 'a', { rooms: ['r'] });
  const mute = await connectPeer(t, a, 'mute', { mute: true });
  const pb = await connectPeer(t, b, 'b', { rooms: ['r'] });
  await reaches(a, pb);
  await reaches(b, pa);

  await redis.down();
  await Promise.all([a.noticedRedisAway(), b.noticedRedisAway()]);
  const localNow = deliversLocallyAtOnce(adapter, failFast);
  const away = await Promise.all([checkAway(a, adapter, [pa, mute], mute, 1, localNow), checkAway(b, adapter, [pb], undefined, 1, localNow)]);
  await redis.up();
  await Promise.all(away.map((outcome) => outcome.delivered));

  await checkResumed(a, b, pa, pb, [mute]);
  a.assertNoFaults();
  b.assertNoFaults();
}

async function linkCut(t: TestContext, { adapter, library, failFast = false }: Scenario): Promise<void> {
  const redis = await startRestartableRedis(t);
  const proxy = await startProxy(t, redis.port);
  const [a, b] = await Promise.all([
    startNode(t, 'A', adapter, library, redis.url, { failFast }),
    startNode(t, 'B', adapter, library, `redis://127.0.0.1:${proxy.port}`, { failFast }),
  ]);
  const pa = await connectPeer(t, a, 'a', { rooms: ['r'] });
  const pb = await connectPeer(t, b, 'b', { rooms: ['r'] });
  const mute = await connectPeer(t, b, 'mute', { mute: true });
  await reaches(a, pb);
  await reaches(b, pa);

  proxy.cut();
  await b.noticedRedisAway();
  // the proxy accepts and resets each reconnection: what B queued is failed at once, not kept
  await checkAway(b, adapter, [pb, mute], mute, 1);
  // A still has Redis, which dropped B's connections: A no longer counts B, nor waits for it
  await until(async () => (await a.value<number>({ op: 'serverCount' })) === 1, 'A: serverCount 1');
  assert.deepEqual(await a.value({ op: 'fetchSockets', timeout: REQUEST_TIMEOUT }), [pa.id]);
  assert.deepEqual(await a.value({ op: 'serverSideEmitWithAck' }), []);
  proxy.heal();

  await checkResumed(a, b, pa, pb, [mute]);
  // a node shut down while its Redis is away still closes (adapters' close() included)
  proxy.cut();
  await b.noticedRedisAway();
  await b.value({ op: 'close' });
  a.assertNoFaults();
  b.assertNoFaults();
}

/**
 * The sharded and Streams adapters (socket.io-adapter's ClusterAdapter) deliver a broadcast locally once
 * its publish settled: with a client that queues commands while Redis is away, once Redis is back.
 */
function deliversLocallyAtOnce(adapter: AdapterKind, failFast: boolean): boolean {
  return adapter === 'redis' || failFast;
}

for (const [adapter, library, title, tooOld] of VARIANTS) {
  describe(`Redis away, two nodes of ours (${title})`, { skip: redisMissing() ?? tooOld }, () => {
    const local = deliversLocallyAtOnce(adapter, false) ? 'local delivery goes on' : 'local delivery waits for Redis (as on socket.io nodes)';
    test(`Redis restarted empty mid-run: ${local}, requests fail in time, the cluster resumes`, { timeout: 40000 }, (t) => redisRestarted(t, { adapter, library }));
    test('the link between one node and Redis cut and healed: that node goes on locally, rejoins, and can shut down cut off', { timeout: 40000 }, (t) =>
      linkCut(t, { adapter, library }));
  });
}

describe('Redis away, publishing client without an offline queue (node-redis disableOfflineQueue)', { skip: redisMissing() ?? noSharded() }, () => {
  test('sharded adapter, Redis restarted: local delivery goes on, requests fail at once or in time', { timeout: 40000 }, (t) =>
    redisRestarted(t, { adapter: 'sharded', library: 'node-redis', failFast: true }));
  test('classic adapter, Redis restarted: local delivery goes on, requests fail in time', { timeout: 40000 }, (t) =>
    redisRestarted(t, { adapter: 'redis', library: 'node-redis', failFast: true }));
});
