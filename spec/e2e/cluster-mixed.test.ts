// One node of ours next to an official socket.io 4.8 node on the same Redis, over each official adapter:
// every cluster operation in both directions (started on ours, then on socket.io's). Our node keeps its
// defaults (recovery on): each node stamps its own offsets, so socket.io's clients see exactly what was
// emitted and ours see our node's offset last (checked by next()).
import { describe, test } from 'node:test';
import { EMITTER_OPERATIONS, OPERATIONS, startPair, type NodeSpec } from '../support/cluster-ops';
import type { AdapterKind, RedisLibrary } from '../support/cluster';
import { redisMissing, redisVersion } from '../support/redis';

const version = redisVersion();
const ADAPTERS: ReadonlyArray<readonly [AdapterKind, RedisLibrary, string, string | undefined]> = [
  ['redis', 'ioredis', '@socket.io/redis-adapter createAdapter (ioredis clients)', undefined],
  ['sharded', 'node-redis', '@socket.io/redis-adapter createShardedAdapter', version && version[0] < 7 ? `redis-server ${version.join('.')} has no sharded Pub/Sub (Redis >= 7)` : undefined],
  ['streams', 'node-redis', '@socket.io/redis-streams-adapter', undefined],
];
const DIRECTIONS: ReadonlyArray<readonly [string, [NodeSpec, NodeSpec]]> = [
  ['from our node to a socket.io node', [{ kind: 'ours' }, { kind: 'official' }]],
  ['from a socket.io node to our node', [{ kind: 'official' }, { kind: 'ours' }]],
];

for (const [kind, library, title, tooOld] of ADAPTERS) {
  for (const [direction, specs] of DIRECTIONS) {
    describe(`mixed cluster over ${title}, ${direction}`, { skip: redisMissing() ?? tooOld }, () => {
      const ops = kind === 'redis' ? [...OPERATIONS, ...EMITTER_OPERATIONS] : OPERATIONS;
      for (const [name, op] of ops) {
        test(name, { timeout: 20000 }, async (t) => op(await startPair(t, kind, specs, library)));
      }
    });
  }
}
