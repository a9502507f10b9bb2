// TimerWheel: one interval for every timeout — never early, at most a tick late, cancel and re-arm in O(1).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sharedTimerWheel, TimerWheel, WheelTimer } from '../../lib/util/timer-wheel';

/** A wheel on a fake clock, advanced by hand. */
function fakeWheel(tick: number): { wheel: TimerWheel; advance: (ms: number) => void } {
  let now = 1000;
  const wheel = new TimerWheel({ tick, now: () => now, drive: false });
  return {
    wheel,
    advance(ms: number) {
      // one tick at a time, as the interval would
      for (let left = ms; left > 0; left -= Math.min(left, tick)) {
        now += Math.min(left, tick);
        wheel.advance();
      }
    },
  };
}

function recorder(): { fired: string[]; timer: (name: string) => WheelTimer<string> } {
  const fired: string[] = [];
  return { fired, timer: (name) => new WheelTimer((n: string) => fired.push(n), name) };
}

describe('TimerWheel', () => {
  test('fires a timer once its delay has passed, not before, and at most one tick after', () => {
    const { wheel, advance } = fakeWheel(10);
    const { fired, timer } = recorder();
    const a = timer('a');
    wheel.schedule(a, 95);
    advance(90);
    assert.deepEqual(fired, []);
    assert.equal(a.armed, true);
    advance(15);
    assert.deepEqual(fired, ['a']);
    assert.equal(a.armed, false);
    assert.equal(wheel.size, 0);
  });

  test('fires exactly at the delay when it is a whole number of ticks', () => {
    const { wheel, advance } = fakeWheel(1);
    const { fired, timer } = recorder();
    wheel.schedule(timer('a'), 100);
    advance(99);
    assert.deepEqual(fired, []);
    advance(1);
    assert.deepEqual(fired, ['a']);
  });

  test('cancel and re-arm move a timer; a cancelled timer never fires', () => {
    const { wheel, advance } = fakeWheel(10);
    const { fired, timer } = recorder();
    const a = timer('a');
    const b = timer('b');
    wheel.schedule(a, 50);
    wheel.schedule(b, 50);
    wheel.cancel(a);
    wheel.schedule(b, 200); // re-armed later
    assert.equal(wheel.size, 1);
    advance(100);
    assert.deepEqual(fired, []);
    advance(120);
    assert.deepEqual(fired, ['b']);
    wheel.cancel(b); // not armed: nothing happens
    assert.equal(wheel.size, 0);
  });

  test('keeps timers longer than one turn of the wheel until their turn', () => {
    const { wheel, advance } = fakeWheel(1);
    const { fired, timer } = recorder();
    wheel.schedule(timer('late'), 2000); // 512 slots of 1 ms: almost four turns
    wheel.schedule(timer('early'), 600);
    advance(1999);
    assert.deepEqual(fired, ['early']);
    advance(1);
    assert.deepEqual(fired, ['early', 'late']);
  });

  test('after a stall longer than a turn, every due timer fires once, in one advance', () => {
    let now = 0;
    const wheel = new TimerWheel({ tick: 10, now: () => now, drive: false });
    const { fired, timer } = recorder();
    wheel.schedule(timer('a'), 100);
    wheel.schedule(timer('b'), 30_000);
    wheel.schedule(timer('c'), 90_000);
    now = 60_000;
    wheel.advance();
    assert.deepEqual(fired.sort(), ['a', 'b']);
    now = 90_000;
    wheel.advance();
    assert.deepEqual(fired, ['a', 'b', 'c']);
  });

  test('a callback may cancel another timer due in the same tick', () => {
    const { wheel, advance } = fakeWheel(10);
    const fired: string[] = [];
    const victims: Array<WheelTimer<string>> = [];
    const cancelOthers = new WheelTimer((n: string) => {
      fired.push(n);
      for (const v of victims) wheel.cancel(v);
    }, 'canceller');
    const record = (n: string): void => {
      fired.push(n);
    };
    victims.push(new WheelTimer<string>(record, 'x'), new WheelTimer<string>(record, 'y'));
    // scheduled last, so it is first in its slot's list and runs before the victims
    for (const v of victims) wheel.schedule(v, 50);
    wheel.schedule(cancelOthers, 50);
    advance(60);
    assert.equal(fired[0], 'canceller');
    assert.deepEqual(fired, ['canceller']);
    assert.equal(wheel.size, 0);
  });

  test('a callback may re-arm its own timer (a heartbeat)', () => {
    const { wheel, advance } = fakeWheel(10);
    let beats = 0;
    const beat: WheelTimer<null> = new WheelTimer(() => {
      beats++;
      if (beats < 3) wheel.schedule(beat, 100);
    }, null);
    wheel.schedule(beat, 100);
    advance(1000);
    assert.equal(beats, 3);
    assert.equal(wheel.size, 0);
  });

  test('the shared wheel fires a real timer within a bound, and is empty afterwards', async () => {
    const wheel = sharedTimerWheel(20); // 2 ms ticks
    assert.equal(wheel.tick, 2);
    assert.equal(sharedTimerWheel(20), wheel);
    assert.equal(sharedTimerWheel(25_000).tick, 100);
    const fired = await new Promise<boolean>((resolve) => {
      const bound = setTimeout(() => resolve(false), 2000);
      wheel.schedule(
        new WheelTimer(() => {
          clearTimeout(bound);
          resolve(true);
        }, null),
        20,
      );
    });
    assert.equal(fired, true);
    assert.equal(wheel.size, 0);
  });
});
