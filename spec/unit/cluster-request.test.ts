// lib/io/cluster-request.ts: the timeout of a cluster-wide request, and the guards that keep it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bounded, boundedCallback, DEFAULT_REQUESTS_TIMEOUT, requestTimeout } from '../../lib/io/cluster-request';

test('the request timeout is the operator timeout, else the adapter requestsTimeout, else 5 s', () => {
  assert.equal(requestTimeout({ requestsTimeout: 800 }, { timeout: 300 }), 300);
  assert.equal(requestTimeout({ requestsTimeout: 800 }, {}), 800);
  assert.equal(requestTimeout({}), DEFAULT_REQUESTS_TIMEOUT);
  assert.equal(requestTimeout({ requestsTimeout: 'soon' }), DEFAULT_REQUESTS_TIMEOUT);
});

test('bounded() rejects a promise that never settles once the timeout and the grace have passed', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const outcome = bounded(new Promise<never>(() => {}), 500, 'no answer').then(
    () => 'resolved',
    (err: Error) => err.message,
  );
  t.mock.timers.tick(500);
  t.mock.timers.tick(100);
  assert.equal(await outcome, 'no answer');
});

test('bounded() passes a value or a rejection on as they come', async () => {
  assert.equal(await bounded(Promise.resolve(7), 500, 'no answer'), 7);
  await assert.rejects(bounded(Promise.reject(new Error('adapter failed')), 500, 'no answer'), /adapter failed/);
});

test('boundedCallback() calls back once: with the adapter answer, or with an error after the timeout', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const calls: Array<[Error | null, unknown[]]> = [];
  const answered = boundedCallback((err, responses) => calls.push([err, responses]), 500, 'no answer');
  answered.callback(null, ['B']);
  t.mock.timers.tick(1000);
  answered.callback(null, ['late']);
  assert.deepEqual(calls, [[null, ['B']]]);

  calls.length = 0;
  const silent = boundedCallback((err, responses) => calls.push([err, responses]), 500, 'no answer');
  t.mock.timers.tick(600);
  silent.callback(null, ['late']);
  assert.equal(calls.length, 1);
  assert.equal(calls[0][0]?.message, 'no answer');
  assert.deepEqual(calls[0][1], []);

  calls.length = 0;
  const failed = boundedCallback((err, responses) => calls.push([err, responses]), 500, 'no answer');
  failed.fail(new Error('serverCount failed'));
  t.mock.timers.tick(600);
  assert.equal(calls.length, 1);
  assert.equal(calls[0][0]?.message, 'serverCount failed');
});
