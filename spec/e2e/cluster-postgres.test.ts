// The official Postgres adapter (NOTIFY/LISTEN, binary and large payloads through a table) on a private
// PostgreSQL: every cluster operation across two nodes of ours, then across ours and an official
// socket.io 4.8 node, both ways. One server per file, a fresh database per test.
import assert from 'node:assert/strict';
import { after, describe, test, type TestContext } from 'node:test';
import { Client } from 'pg';
import { join, next, Rig } from '../support/cluster';
import { OPERATIONS, startPairOn, type NodeSpec, type Pair } from '../support/cluster-ops';
import { createDatabase, postgresAdapter, postgresMissing, startPostgres, type PostgresDatabase, type PostgresServer } from '../support/postgres';

const skip = postgresMissing();

// started by the first test that needs it, stopped once the file is done
let server: Promise<PostgresServer> | undefined;
after(async () => {
  if (server) await (await server).stop();
});

/** A fresh database on this file's PostgreSQL, and nodes A and B of `specs` on it with the Postgres adapter. */
async function startPostgresPair(t: TestContext, specs: [NodeSpec, NodeSpec]): Promise<{ p: Pair; db: PostgresDatabase }> {
  const rig = new Rig(t);
  const db = await createDatabase(await (server ??= startPostgres()));
  const p = await startPairOn(rig, undefined, 'postgres', specs, () => postgresAdapter(rig, db));
  return { p, db };
}

async function attachmentRows(db: PostgresDatabase): Promise<number> {
  const client = new Client(db.config);
  client.on('error', () => {});
  await client.connect();
  try {
    const { rows } = await client.query<{ count: string }>('SELECT count(*) FROM socket_io_attachments');
    return Number(rows[0]?.count);
  } finally {
    await client.end();
  }
}

const OURS: NodeSpec = { kind: 'ours' };
const OFFICIAL: NodeSpec = { kind: 'official' };

describe('two nodes of ours over @socket.io/postgres-adapter', { skip }, () => {
  for (const [name, op] of OPERATIONS) {
    test(name, { timeout: 20000 }, async (t) => op((await startPostgresPair(t, [OURS, OURS])).p));
  }

  test('a payload over the 8000-byte NOTIFY threshold travels through socket_io_attachments', { timeout: 20000 }, async (t) => {
    const { p, db } = await startPostgresPair(t, [OURS, OURS]);
    const cb = await join(p.rig, p.b);
    const before = await attachmentRows(db);
    const big = { text: 'x'.repeat(20000), n: 1 };
    const got = next(cb, 'big');
    p.a.io.emit('big', big);
    assert.deepEqual(await got, [big]);
    assert.equal((await attachmentRows(db)) > before, true);
  });
});

const DIRECTIONS: ReadonlyArray<readonly [string, [NodeSpec, NodeSpec]]> = [
  ['from our node to a socket.io node', [OURS, OFFICIAL]],
  ['from a socket.io node to our node', [OFFICIAL, OURS]],
];

for (const [direction, specs] of DIRECTIONS) {
  describe(`mixed cluster over @socket.io/postgres-adapter, ${direction}`, { skip }, () => {
    for (const [name, op] of OPERATIONS) {
      test(name, { timeout: 20000 }, async (t) => op((await startPostgresPair(t, specs)).p));
    }
  });
}
