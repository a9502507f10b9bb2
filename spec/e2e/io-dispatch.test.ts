// Incoming events reach their handlers alike whether the direct path (no onAny, no socket.use) or the array path runs.
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import { connectPair, startIo } from '../support/io';

type Setup = 'direct' | 'socket.use' | 'onAny' | 'both';

/** Argument lists of 0 to 5 elements: the direct path passes up to three one by one, more as an array. */
const SHAPES: unknown[][] = [[], [1], [1, 'two'], [1, 'two', { three: [3] }], [1, 2, 3, 4], [null, [5], 'x', { y: 1 }, false]];

/** What a handler saw: its arguments, a function shown as 'ack()', and how many it got. */
function describeArgs(args: unknown[]): unknown[] {
  return [args.length, ...args.map((a) => (typeof a === 'function' ? 'ack()' : a))];
}

/** Sends every shape as `ev` and `message`, with and without an ack; returns what the server saw and answered. */
async function run(t: TestContext, setup: Setup): Promise<{ seen: unknown[]; answers: unknown[] }> {
  const server = await startIo(t);
  const { client, socket } = await connectPair(t, server, ['websocket']);
  const seen: unknown[] = [];
  const anySeen: unknown[] = [];
  if (setup === 'socket.use' || setup === 'both') socket.use((_event, next) => next());
  if (setup === 'onAny' || setup === 'both') socket.onAny((...args: unknown[]) => anySeen.push(describeArgs(args)));
  const answer = (name: string) => (...args: unknown[]) => {
    seen.push([name, ...describeArgs(args)]);
    const last = args[args.length - 1];
    if (typeof last === 'function') (last as (...a: unknown[]) => void)(name, args.length - 1);
  };
  socket.on('ev', answer('ev'));
  socket.on('message', answer('message'));
  server.io.on('message', (_conn: unknown, ...args: unknown[]) => seen.push(['classic', ...describeArgs(args)]));
  const answers: unknown[] = [];
  for (const shape of SHAPES) {
    for (const name of ['ev', 'message']) {
      client.emit(name, ...shape);
      answers.push(await client.timeout(2000).emitWithAck(name, ...shape));
    }
  }
  if (setup === 'onAny' || setup === 'both') {
    // onAny gets [name, ...args, ack]: the same arrays the handlers got, with the name first
    assert.deepEqual(
      anySeen,
      seen.filter((entry) => (entry as unknown[])[0] !== 'classic').map((entry) => {
        const [name, count, ...rest] = entry as [string, number, ...unknown[]];
        return [count + 1, name, ...rest];
      }),
    );
  }
  return { seen, answers };
}

describe('incoming event dispatch', () => {
  test('handlers, classic message listeners and acks see the same arguments on every path', async (t) => {
    const direct = await run(t, 'direct');
    // what the direct path gave, spelled out for one shape: the ack as one more argument, answered once
    assert.deepEqual(direct.seen.slice(0, 6), [
      ['ev', 0],
      ['ev', 1, 'ack()'],
      ['message', 0],
      ['classic', 0],
      ['message', 1, 'ack()'],
      ['classic', 1, 'ack()'],
    ]);
    assert.deepEqual(direct.answers.slice(0, 2), ['ev', 'message']);
    assert.equal(direct.answers.length, SHAPES.length * 2);
    for (const setup of ['socket.use', 'onAny', 'both'] as const) {
      assert.deepEqual(await run(t, setup), direct, setup);
    }
  });

  test('an ack called twice answers once', async (t) => {
    const server = await startIo(t);
    const { client, socket } = await connectPair(t, server, ['websocket']);
    socket.on('twice', (ack: (n: number) => void) => {
      ack(1);
      ack(2);
    });
    socket.on('marker', (ack: () => void) => ack());
    const acks: string[] = [];
    client.io.engine.on('packet', (packet: { type: string; data?: unknown }) => {
      if (packet.type === 'message' && typeof packet.data === 'string' && packet.data.startsWith('3')) acks.push(packet.data);
    });
    const answers: unknown[] = [];
    answers.push(await client.timeout(2000).emitWithAck('twice'));
    // a second ACK for the same id would leave before the marker's answer (one connection, in order)
    answers.push(await client.timeout(2000).emitWithAck('marker'));
    assert.equal(acks.length, 2, acks.join(' '));
    assert.deepEqual(answers, [1, undefined]);
  });
});
