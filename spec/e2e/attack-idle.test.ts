// Thousands of idle handshakes that never join a namespace: bounded memory per session, all closed by
// connectTimeout. Heap is measured after a forced GC, exposed from inside the file (no CLI flag needed).
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, test } from 'node:test';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { assertNoCrash, assertStillServes, startTarget, watchCrashes } from '../support/attack';
import { until } from '../support/io';
import { within } from '../support/wait';

watchCrashes();
after(assertNoCrash);

// the file's own --expose-gc: a gc() from a fresh context once the flag is set
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const SESSIONS = 2000;
/** A generous bound on what one idle session may cost (the brief's: 20 KiB). */
const MAX_BYTES_PER_SESSION = 20 * 1024;

function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** One polling handshake over a shared keep-alive agent; resolves with the status. */
function handshake(url: string, agent: http.Agent): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = http.get(`${url}/socket.io/?EIO=4&transport=polling`, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

test(`${SESSIONS} polling handshakes that never CONNECT cost under 20 KiB each and are closed by connectTimeout`, async (t) => {
  const target = await startTarget(t, { connectTimeout: 3000, pingTimeout: 500 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  t.after(() => agent.destroy());
  // warm up the code paths and the agent's sockets, then measure from a quiet heap
  await Promise.all(Array.from({ length: 32 }, () => handshake(target.url, agent)));
  await until(() => target.io.engine.clientsCount === 32);
  const before = heapUsed();
  const opened = target.io.engine.clientsCount;
  // bounded in count (SESSIONS) and time (within)
  await within(
    (async () => {
      for (let i = 0; i < SESSIONS; i += 100) {
        const statuses = await Promise.all(Array.from({ length: 100 }, () => handshake(target.url, agent)));
        assert.ok(statuses.every((s) => s === 200));
      }
    })(),
    10_000,
    `${SESSIONS} handshakes`,
  );
  assert.equal(target.io.engine.clientsCount, opened + SESSIONS);
  const perSession = (heapUsed() - before) / SESSIONS;
  t.diagnostic(`heap per idle session: ${Math.round(perSession)} bytes`);
  assert.ok(perSession < MAX_BYTES_PER_SESSION, `${Math.round(perSession)} bytes per idle session`);
  // connectTimeout closes them (then the polling close waits at most pingTimeout for a GET that never comes)
  await until(() => target.io.engine.clientsCount === 0, 8000, 'connectTimeout to close every idle session');
  agent.destroy();
  await assertStillServes(t, target.url);
});
