// A node of a two-node cluster of ours (child processes) frozen with SIGSTOP then SIGCONT, or killed with
// SIGKILL and started again: the other node's requests fail within their timeout or stop waiting for the
// dead one, a broadcast with acks names the silent clients, and the cluster comes back whole.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkResumed, NODE_VARIANTS, serverSideTimeout } from '../support/failure-checks';
import { connectPeer, MARGIN, nextOn, reaches, REQUEST_TIMEOUT, startNode, until } from '../support/failure-rig';
import { redisMissing, startRedis } from '../support/redis';
import { once } from '../support/wait';

for (const [adapter, library, title, tooOld] of NODE_VARIANTS) {
  describe(`a node fails, two nodes of ours (${title})`, { skip: redisMissing() ?? tooOld }, () => {
    test('a node frozen (SIGSTOP): requests fail within their timeout, acks name the silent clients; SIGCONT resumes', { timeout: 40000 }, async (t) => {
      const redis = await startRedis(t);
      const [a, b] = await Promise.all([startNode(t, 'A', adapter, library, redis.url), startNode(t, 'B', adapter, library, redis.url)]);
      const pa = await connectPeer(t, a, 'a', { rooms: ['r'] });
      const mute = await connectPeer(t, a, 'mute', { mute: true });
      const pb = await connectPeer(t, b, 'b', { rooms: ['r'] });
      await reaches(a, pb);
      await reaches(b, pa);

      b.signal('SIGSTOP');
      const local = nextOn(pa, 'local');
      await a.value({ op: 'emit', event: 'local', args: [1] });
      assert.equal(await local, 1);
      // B still holds its Redis connections: it is counted, and waited for until the timeout. The classic
      // adapter's requestsTimeout (500 ms here) applies without timeout(ms); the others take timeout(ms)
      const [fetched, serverSide, acks] = await Promise.all([
        a.request({ op: 'fetchSockets', timeout: adapter === 'redis' ? undefined : REQUEST_TIMEOUT }),
        a.request({ op: 'serverSideEmitWithAck' }, serverSideTimeout(adapter) + MARGIN),
        a.request({ op: 'emitWithAck', timeout: REQUEST_TIMEOUT, args: [1] }),
      ]);
      assert.ok(fetched.error, 'fetchSockets fails while a node is frozen');
      assert.ok(serverSide.error, 'serverSideEmitWithAck fails while a node is frozen');
      assert.ok(acks.error, 'a broadcast with acks fails while a node is frozen');
      // this node's silent client is named; B's clients cannot be (the adapters report counts, not ids)
      assert.deepEqual(acks.error.missing, [mute.id]);
      assert.deepEqual(acks.error.responses, ['a:1']);
      b.signal('SIGCONT');

      await checkResumed(a, b, pa, pb, [mute]);
      a.assertNoFaults();
      b.assertNoFaults();
    });

    test('a node SIGKILLed: the other stops waiting for it, and a node started in its place rejoins', { timeout: 40000 }, async (t) => {
      const redis = await startRedis(t);
      const [a, b] = await Promise.all([startNode(t, 'A', adapter, library, redis.url), startNode(t, 'B', adapter, library, redis.url)]);
      const pa = await connectPeer(t, a, 'a', { rooms: ['r'] });
      const mute = await connectPeer(t, a, 'mute', { mute: true });
      const pb = await connectPeer(t, b, 'b', { rooms: ['r'] });
      await reaches(a, pb);
      await reaches(b, pa);

      const gone = once(pb.socket, 'disconnect');
      await b.kill();
      assert.equal((await gone)[0], 'transport close');
      // Redis closes the dead node's connections: it is no longer counted
      await until(async () => (await a.value<number>({ op: 'serverCount' })) === 1, 'A: serverCount 1');
      assert.deepEqual(await a.value({ op: 'fetchSockets', timeout: REQUEST_TIMEOUT }), [pa.id, mute.id].sort());
      assert.deepEqual(await a.value({ op: 'serverSideEmitWithAck' }), []);
      assert.deepEqual(await a.value({ op: 'emitWithAck', timeout: REQUEST_TIMEOUT, room: 'r', args: [2] }), ['a:2']);

      const b2 = await startNode(t, 'B', adapter, library, redis.url);
      const pb2 = await connectPeer(t, b2, 'b', { rooms: ['r'] });
      await checkResumed(a, b2, pa, pb2, [mute]);
      a.assertNoFaults();
      b2.assertNoFaults();
    });
  });
}
