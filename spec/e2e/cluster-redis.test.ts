// Two nodes of ours in one process over each official Redis adapter (classic, sharded, Streams), and the
// Redis emitter: every cluster operation started on one node and observed on both.
import { describe, test } from 'node:test';
import { EMITTER_OPERATIONS, OPERATIONS, startPair } from '../support/cluster-ops';
import type { AdapterKind } from '../support/cluster';
import { redisMissing, redisVersion } from '../support/redis';

const version = redisVersion();
const ADAPTERS: ReadonlyArray<readonly [AdapterKind, string, string | undefined]> = [
  ['redis', '@socket.io/redis-adapter createAdapter', undefined],
  // sharded Pub/Sub (SSUBSCRIBE, SPUBLISH) came with Redis 7.0
  ['sharded', '@socket.io/redis-adapter createShardedAdapter', version && version[0] < 7 ? `redis-server ${version.join('.')} has no sharded Pub/Sub (Redis >= 7)` : undefined],
  ['streams', '@socket.io/redis-streams-adapter', undefined],
];

for (const [kind, title, tooOld] of ADAPTERS) {
  describe(`two nodes of ours over ${title}`, { skip: redisMissing() ?? tooOld }, () => {
    const ops = kind === 'redis' ? [...OPERATIONS, ...EMITTER_OPERATIONS] : OPERATIONS;
    for (const [name, op] of ops) {
      test(name, { timeout: 20000 }, async (t) => op(await startPair(t, kind, [{ kind: 'ours' }, { kind: 'ours' }])));
    }
  });
}
