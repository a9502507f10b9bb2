// LogThrottle: one line per interval, the ones left out counted and reported with the next line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogThrottle } from '../../lib/util/log-throttle';

test('lets the first event through, then none until the interval has passed', () => {
  const throttle = new LogThrottle(10000);
  assert.equal(throttle.take(5), 0);
  for (let t = 6; t < 10005; t += 1000) assert.equal(throttle.take(t), undefined, `at ${t} ms`);
  assert.equal(throttle.take(10005), 10);
});

test('reports the events left out since the previous line, then starts counting again', () => {
  const throttle = new LogThrottle(1000);
  const seen: Array<number | undefined> = [];
  // three events per 400 ms for 3 s: lines at 0, 1200, 2400 ms
  for (let t = 0; t < 3000; t += 400) for (let i = 0; i < 3; i++) seen.push(throttle.take(t));
  const lines = seen.filter((n) => n !== undefined);
  assert.deepEqual(lines, [0, 8, 8]);
  assert.equal(seen.length - lines.length, 3 * 8 - 3);
});

test('lets every event through when they are an interval apart', () => {
  const throttle = new LogThrottle(50);
  for (let t = 0; t <= 500; t += 50) assert.equal(throttle.take(t), 0, `at ${t} ms`);
});
