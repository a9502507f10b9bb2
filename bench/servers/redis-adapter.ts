// The Redis adapter of the redis-broadcast scenario: @socket.io/redis-adapter over node-redis, when the
// harness hands a server BENCH_REDIS_URL (its private redis-server); the same for ours and socket.io.
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

export interface BenchAdapter {
  /** What `createAdapter(pub, sub)` returns: ours takes it as the `adapter` option, socket.io through `io.adapter()`. */
  readonly adapter: ReturnType<typeof createAdapter>;
  readonly versions: Record<string, string>;
  readonly note: string;
}

/** Connects a publisher and a subscriber to BENCH_REDIS_URL; undefined when the scenario has no Redis. */
export async function redisAdapterFromEnv(): Promise<BenchAdapter | undefined> {
  const url = process.env.BENCH_REDIS_URL;
  if (!url) return undefined;
  const pub = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 5000 } });
  const sub = pub.duplicate();
  // the harness kills redis-server after this process: a late connection error is expected, not a crash
  pub.on('error', () => {});
  sub.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  return {
    adapter: createAdapter(pub, sub),
    versions: {
      '@socket.io/redis-adapter': (require('@socket.io/redis-adapter/package.json') as { version: string }).version,
      redis: (require('redis/package.json') as { version: string }).version,
    },
    note: `@socket.io/redis-adapter (node-redis) on a private redis-server at ${url}: every broadcast is published once and delivered locally`,
  };
}
