// The shared session store: records and log entries as Redis strings, the restore plan, bounded fire-and-forget writes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decodeEntry, decodeRecord, encodeEntry, encodeRecord } from '../../lib/store/log-codec';
import { RedisSessionStore } from '../../lib/store/redis-session-store';
import { planRestore, targets, type RestoreInput } from '../../lib/store/restore-plan';
import type { LogEntry, LogTarget, SessionRecord } from '../../lib/store/session-store';

const RECORD: SessionRecord = { pid: 'p1', sid: 's1', nsp: '/', rooms: ['s1', 'r1', 7], data: { user: 'ann' }, since: 0, sinceTime: 1000 };
const ROOM: LogTarget = { nsp: '/', rooms: ['r1'], except: [] };

/** An XRANGE reply item for `entry`, as Redis gives it back. */
function asReply(entry: LogEntry): [string, string[]] {
  return [`${entry.offset}-0`, encodeEntry(entry)];
}

const o = (offset: number, time: number, id: string, text: string, target: LogTarget = ROOM): LogEntry => ({ kind: 'o', offset, time, id, target, messages: [text] });
const d = (offset: number, time: number, sid: string, text: string): LogEntry => ({ kind: 'd', offset, time, sid, messages: [text] });
const r = (offset: number, time: number, id: string): LogEntry => ({ kind: 'r', offset, time, id, nsp: '/' });

function plan(input: Partial<RestoreInput>): string[] | string {
  const result = planRestore({ epoch: 'aaaaaaaa', record: RECORD, seen: undefined, own: [], others: new Map(), margin: 100, ...input });
  return result.ok ? result.packets.map((p) => p[0] as string) : result.reason;
}

describe('log codec', () => {
  test('a record survives the round trip, and anything else decodes to undefined', () => {
    assert.deepEqual(decodeRecord(encodeRecord(RECORD)), { ...RECORD, expiresAt: undefined });
    assert.deepEqual(decodeRecord(encodeRecord({ ...RECORD, expiresAt: 5 })), { ...RECORD, expiresAt: 5 });
    for (const bad of [undefined, '', '{', '{"v":2}', '[]', 'null', JSON.stringify({ v: 1, p: 'p', s: 's', n: '/', r: 'x', o: 0, t: 0 })]) {
      assert.equal(decodeRecord(bad), undefined, String(bad));
    }
  });

  test('every kind of entry survives the round trip, binary messages included', () => {
    const entries: LogEntry[] = [
      { kind: 'o', offset: 3, time: 10, id: 'e.1', target: { nsp: '/chat', rooms: ['a', 2], except: ['b'], volatile: true, local: false }, messages: ['451-["x",{"_placeholder":true,"num":0}]', Buffer.from([0, 255, 7])] },
      { kind: 'd', offset: 4, time: 11, sid: 'sid', volatile: false, messages: ['2["y"]'] },
      { kind: 'r', offset: 5, time: 12, id: 'f.9', nsp: '/' },
      { kind: 'u', offset: 6, time: 13 },
    ];
    for (const entry of entries) assert.deepEqual(decodeEntry(asReply(entry)), entry);
  });

  test('a text message that starts like a binary one stays text', () => {
    const entry: LogEntry = { kind: 'd', offset: 1, time: 1, sid: 's', volatile: false, messages: ['bAAA', 'tx'] };
    assert.deepEqual(decodeEntry(asReply(entry)), entry);
  });

  test('malformed reply items decode to undefined', () => {
    for (const item of [null, [], ['1-0'], ['x-0', ['k', 'u', 't', '1']], ['1-0', ['k', 'z', 't', '1']], ['1-0', ['k', 'o', 't', '1', 'i', 'e.1', 'g', '{']], ['1-0', ['k', 'r', 't', '1']]]) {
      assert.equal(decodeEntry(item), undefined, JSON.stringify(item));
    }
  });
});

describe('restore plan', () => {
  test('targets: namespace, rooms, except and volatile decide', () => {
    assert.equal(targets(ROOM, RECORD), true);
    assert.equal(targets({ ...ROOM, rooms: [] }, RECORD), true);
    assert.equal(targets({ ...ROOM, rooms: ['7'] }, RECORD), true);
    assert.equal(targets({ ...ROOM, rooms: ['r2'] }, RECORD), false);
    assert.equal(targets({ ...ROOM, except: ['s1'] }, RECORD), false);
    assert.equal(targets({ ...ROOM, nsp: '/chat' }, RECORD), false);
    assert.equal(targets({ ...ROOM, volatile: true }, RECORD), false);
  });

  test("replays the node's own broadcasts and direct emits after the client's offset, in order", () => {
    const own = [o(1, 1000, 'a.1', 'a1'), o(2, 1001, 'a.2', 'other', { ...ROOM, rooms: ['r9'] }), d(3, 1002, 's1', 'a3'), d(4, 1003, 's2', 'not mine'), o(5, 1004, 'a.3', 'a5')];
    assert.deepEqual(plan({ own, seen: 1 }), ['a3', 'a5']);
    assert.deepEqual(plan({ own, seen: 5 }), []);
    // no offset seen: from what the node had sent when the session connected
    assert.deepEqual(plan({ own }), ['a1', 'a3', 'a5']);
  });

  test("resolves another node's broadcast the session's node delivered, and adds what it never delivered", () => {
    const own = [o(1, 1000, 'a.1', 'a1'), r(2, 1001, 'b.1'), r(3, 1002, 'b.2')];
    const b = [o(7, 990, 'b.1', 'b1'), o(8, 1001, 'b.2', 'b2'), o(9, 1005, 'b.3', 'b3'), o(10, 1006, 'b.4', 'b4', { ...ROOM, rooms: ['r9'] })];
    const c = [o(1, 1003, 'c.1', 'c1')];
    // b1 and b2 reached the client through A (refs 2 and 3 are after nothing it saw), c1 and b3 never reached A
    assert.deepEqual(plan({ own, seen: 1, others: new Map([['b', b], ['c', c]]) }), ['b1', 'b2', 'c1', 'b3']);
    // the client saw everything A sent: only what A never delivered
    assert.deepEqual(plan({ own, seen: 3, others: new Map([['b', b], ['c', c]]) }), ['c1', 'b3']);
  });

  test('local broadcasts of other nodes are not for sessions elsewhere', () => {
    const own = [o(1, 1000, 'a.1', 'a1')];
    const b = [o(1, 1001, 'b.1', 'b1', { ...ROOM, local: true })];
    assert.deepEqual(plan({ own, seen: 1, others: new Map([['b', b]]) }), []);
  });

  test('refuses what it cannot know: holes, trimmed logs, lost tails, unknown origins', () => {
    const own = [o(1, 1000, 'a.1', 'a1'), o(3, 1002, 'a.3', 'a3')];
    assert.equal(plan({ own, seen: 1 }), 'lostWrite');
    assert.equal(plan({ own: [o(5, 1000, 'a.5', 'a5')], seen: 2 }), 'trimmed');
    assert.equal(plan({ own: [o(1, 1000, 'a.1', 'a1')], seen: 2 }), 'lostWrite');
    assert.equal(plan({ own: [o(1, 1000, 'a.1', 'a1'), { kind: 'u', offset: 2, time: 1001 }], seen: 1 }), 'unknownOrigin');
    assert.equal(plan({ own: [o(1, 1000, 'a.1', 'a1')], seen: 1, others: new Map([['b', [{ kind: 'u', offset: 4, time: 1001 }]]]) }), 'unknownOrigin');
    assert.equal(plan({ own: [o(1, 1000, 'a.1', 'a1'), r(2, 1001, 'b.1')], seen: 1 }), 'trimmed');
    assert.equal(plan({ own: [o(1, 1000, 'a.1', 'a1')], seen: 1, others: new Map([['b', [o(1, 1001, 'b.1', 'b1'), o(3, 1002, 'b.3', 'b3')]]]) }), 'lostWrite');
  });

  test('refuses when other nodes delivered a broadcast its origin never logged (it died in between)', () => {
    const own = [o(1, 1000, 'a.1', 'a1')];
    const c = [r(1, 1001, 'b.7')];
    assert.equal(plan({ own, seen: 1, others: new Map([['c', c]]) }), 'lostWrite');
    // logged by its origin (here the session's own node): resolved, and not for this session twice
    assert.deepEqual(plan({ own, seen: 1, others: new Map([['c', [r(1, 1001, 'a.1')]]]) }), []);
    assert.deepEqual(plan({ own, seen: 1, others: new Map([['b', [o(3, 1000, 'b.7', 'b7')]], ['c', c]]) }), ['b7']);
  });

  test("other nodes' packets older than the margin before the client's last one are not replayed", () => {
    const own = [o(1, 1000, 'a.1', 'a1')];
    const b = [o(1, 800, 'b.1', 'old'), o(2, 950, 'b.2', 'recent')];
    assert.deepEqual(plan({ own, seen: 1, others: new Map([['b', b]]), record: { ...RECORD, sinceTime: 0 } }), ['recent']);
  });

  test('nor what other nodes sent before the session arrived on its node (a previous restore dealt with it)', () => {
    const own = [d(1, 1000, 's1', 'b1')];
    const a = [o(4, 990, 'a.4', 'a4'), o(5, 1005, 'a.5', 'a5')];
    assert.deepEqual(plan({ own, seen: 1, others: new Map([['a', a]]), record: { ...RECORD, sinceTime: 1000 } }), ['a5']);
    assert.equal(plan({ own, seen: 1, others: new Map([['a', [{ kind: 'u', offset: 1, time: 950 }]]]), record: { ...RECORD, sinceTime: 0 } }), 'unknownOrigin');
    assert.deepEqual(plan({ own, seen: 1, others: new Map([['a', [{ kind: 'u', offset: 1, time: 950 }]]]), record: { ...RECORD, sinceTime: 999 } }), []);
  });
});

/** A node-redis-shaped client that records commands; replies as `reply` says. */
class FakeNodeRedis {
  isReady = true;
  readonly sent: string[][] = [];
  reply: () => Promise<unknown> = () => Promise.resolve(1);
  sendCommand(args: string[]): Promise<unknown> {
    this.sent.push(args);
    return this.reply();
  }
  duplicate(): unknown {
    return { on() {}, connect: () => Promise.resolve(), subscribe: () => Promise.resolve(), close: () => Promise.resolve() };
  }
}

function storeOn(client: object, opts: ConstructorParameters<typeof RedisSessionStore>[1] = {}): { store: RedisSessionStore; warnings: unknown[] } {
  const warnings: unknown[] = [];
  const log = { error() {}, warn: (obj: unknown) => warnings.push(obj), info() {}, debug() {}, trace() {}, child: () => log };
  const store = new RedisSessionStore(client as never, opts);
  store.open({ epoch: 'aaaaaaaa', ttl: 6000, reconnectTimeout: 1000, log, onTakeover() {}, records: () => [RECORD] });
  return { store, warnings };
}

const ENTRY: LogEntry = { kind: 'd', offset: 1, time: 1, sid: 's1', messages: ['2["x"]'] };

/** The log entries of a tick go out at its end. */
const endOfTick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('RedisSessionStore writes', () => {
  test('drops writes while the client is not ready, warns once, and rewrites the records once it is back', async () => {
    const client = new FakeNodeRedis();
    const { store, warnings } = storeOn(client);
    client.isReady = false;
    client.sent.length = 0;
    store.append(ENTRY);
    store.append({ ...ENTRY, offset: 2 });
    await endOfTick();
    assert.equal(client.sent.length, 0);
    // the tick's entries (one command) and the log's first PEXPIRE
    assert.equal(store.droppedWrites, 2);
    assert.equal(warnings.length, 1);
    client.isReady = true;
    store.refresh();
    assert.ok(client.sent.some((args) => args[0] === 'HSET' && args[2] === 'p1'), 'records rewritten');
    await store.close();
  });

  test('drops writes over maxPendingWrites, and takes them again once answers come', async () => {
    const client = new FakeNodeRedis();
    const answers: Array<() => void> = [];
    client.reply = () => new Promise((resolve) => answers.push(() => resolve(1)));
    const { store } = storeOn(client, { maxPendingWrites: 7 });
    // open() refreshed: five writes pending
    store.append(ENTRY);
    await endOfTick();
    store.append({ ...ENTRY, offset: 2 });
    await endOfTick();
    assert.equal(store.droppedWrites, 1, "the first tick's entries and the PEXPIRE fit, the second tick's are dropped");
    for (const answer of answers.splice(0)) answer();
    await endOfTick();
    store.append({ ...ENTRY, offset: 3 });
    await endOfTick();
    assert.equal(store.droppedWrites, 1);
    await store.close();
  });

  test('never throws, never rejects: a client that throws or rejects costs a dropped write', async () => {
    const client = new FakeNodeRedis();
    const { store } = storeOn(client);
    client.sendCommand = () => {
      throw new Error('closed');
    };
    store.append(ENTRY);
    await endOfTick();
    client.sendCommand = () => Promise.reject(new Error('connection lost'));
    store.append({ ...ENTRY, offset: 2 });
    await endOfTick();
    await endOfTick();
    assert.ok(store.droppedWrites >= 2);
    assert.deepEqual(await store.fetch('p1', 'aaaaaaab.1'), { ok: false, reason: 'unreachable' });
    await store.close();
  });

  test('an ioredis client goes through call(), not its internal sendCommand', async () => {
    const calls: unknown[][] = [];
    const client = {
      status: 'ready',
      call: (...args: unknown[]) => {
        calls.push(args);
        return Promise.resolve(1);
      },
      sendCommand: () => assert.fail('sendCommand used on ioredis'),
      duplicate: () => ({ on() {}, subscribe: () => Promise.resolve(), quit: () => Promise.resolve(), disconnect() {}, status: 'ready' }),
    };
    const { store } = storeOn(client);
    store.append(ENTRY);
    await endOfTick();
    assert.ok(calls.some((args) => args[0] === 'EVAL' && args[3] === 'esio:l:aaaaaaaa' && args.includes('1-0')));
    await store.close();
  });

  test('refuses a client of neither library', () => {
    assert.throws(() => new RedisSessionStore({} as never), TypeError);
  });
});
