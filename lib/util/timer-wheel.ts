// A hashed timer wheel: one unref'd Node timer drives every heartbeat and timeout, none per connection.

/** Slots in one turn of the wheel; later deadlines wait in their slot for the turn they are due in. */
const SLOTS = 512;
/** Coarsest tick the wheels use, in ms. */
const MAX_TICK_MS = 100;

/** Marks of WheelTimer.slot that are not a slot index. */
const IDLE = -1;
const DUE = -2;

/**
 * One timeout: a module-level function and the object it acts on (no closure per connection), re-armed
 * as often as needed. Created once per owner and kept; `armed` while it waits in a wheel.
 */
export class WheelTimer<T = unknown> {
  /** @internal tick at which the timer fires */
  deadline = 0;
  /** @internal slot index, IDLE, or DUE while its tick is being run */
  slot = IDLE;
  /** @internal neighbours in the slot's list */
  prev: WheelTimer<T> | undefined = undefined;
  next: WheelTimer<T> | undefined = undefined;
  readonly fn: (arg: T) => void;
  readonly arg: T;

  constructor(fn: (arg: T) => void, arg: T) {
    this.fn = fn;
    this.arg = arg;
  }

  /** Whether the timer waits to fire. */
  get armed(): boolean {
    return this.slot !== IDLE;
  }
}

/** Options of a TimerWheel; `now` is for tests (a fake clock driven through advance()). */
export interface TimerWheelOptions {
  /** Resolution in ms: a timer fires at most about one tick after its delay (plus the event loop's lateness). */
  tick: number;
  /** Clock in ms. @default performance.now */
  now?: () => number;
  /** Whether a Node interval drives the wheel; off for tests that call advance() themselves. @default true */
  drive?: boolean;
}

/**
 * Timers bucketed by the tick they are due in. schedule/cancel are O(1) (intrusive lists); the Node
 * interval runs only while timers are armed and never keeps the process alive. A timer never fires
 * before its delay has passed.
 */
export class TimerWheel {
  readonly tick: number;
  private readonly now: () => number;
  private readonly drive: boolean;
  private readonly heads: Array<WheelTimer<unknown> | undefined> = new Array<WheelTimer<unknown> | undefined>(SLOTS).fill(undefined);
  private readonly origin: number;
  /** The last tick whose slot was run. */
  private current: number;
  private count = 0;
  private interval: NodeJS.Timeout | undefined;

  constructor(options: TimerWheelOptions) {
    this.tick = options.tick;
    this.now = options.now ?? performance.now.bind(performance);
    this.drive = options.drive ?? true;
    this.origin = this.now();
    this.current = 0;
  }

  /** Timers armed in this wheel. */
  get size(): number {
    return this.count;
  }

  /** Arms `timer` to fire once `delay` ms have passed (re-arming it if it was armed). */
  schedule<T>(timer: WheelTimer<T>, delay: number): void {
    const t = timer as WheelTimer<unknown>;
    // a DUE timer (picked by the running tick, not fired yet) is still counted
    const counted = t.slot !== IDLE;
    if (t.slot >= 0) this.unlinkFrom(t.slot, t);
    const elapsed = this.now() - this.origin;
    // with nothing armed no tick was run: the ticks behind the clock have nothing to fire
    if (this.count === 0) this.current = Math.max(this.current, Math.floor(elapsed / this.tick));
    // never early: tick d is run once d * tick ms have passed, and never in a slot already run
    const deadline = Math.max(this.current + 1, Math.ceil((elapsed + delay) / this.tick));
    const slot = deadline % SLOTS;
    t.deadline = deadline;
    t.slot = slot;
    const head = this.heads[slot];
    t.prev = undefined;
    t.next = head;
    if (head) head.prev = t;
    this.heads[slot] = t;
    if (!counted && this.count++ === 0) this.start();
  }

  /** Disarms `timer`; nothing happens if it is not armed. */
  cancel<T>(timer: WheelTimer<T>): void {
    const t = timer as WheelTimer<unknown>;
    if (t.slot === IDLE) return;
    // a DUE timer is left in the running tick's list, which skips it once it is no longer DUE
    if (t.slot >= 0) this.unlinkFrom(t.slot, t);
    t.slot = IDLE;
    this.count--;
    this.stopIfEmpty();
  }

  /** Runs every tick up to the clock (the interval calls this; tests with a fake clock too). */
  advance(): void {
    const target = Math.floor((this.now() - this.origin) / this.tick);
    if (target <= this.current) return;
    // a stall longer than a turn visits each slot once: deadlines are absolute, so nothing is missed
    const first = Math.max(this.current + 1, target - SLOTS + 1);
    this.current = target;
    for (let t = first; t <= target; t++) this.runSlot(t % SLOTS, target);
  }

  private runSlot(slot: number, upTo: number): void {
    let due: Array<WheelTimer<unknown>> | undefined;
    for (let timer = this.heads[slot]; timer !== undefined; ) {
      const next = timer.next;
      if (timer.deadline <= upTo) {
        this.unlinkFrom(slot, timer);
        timer.slot = DUE;
        (due ??= []).push(timer);
      }
      timer = next;
    }
    if (!due) return;
    // counted as armed until fired: a callback may cancel or re-arm a later one of the same tick
    for (const timer of due) {
      if (timer.slot !== DUE) continue;
      timer.slot = IDLE;
      this.count--;
      try {
        timer.fn(timer.arg);
      } catch (err) {
        // a throwing callback must not stop the other timers of the tick; rethrown outside the loop
        process.nextTick(rethrow, err);
      }
    }
    this.stopIfEmpty();
  }

  private unlinkFrom(slot: number, timer: WheelTimer<unknown>): void {
    if (timer.prev) timer.prev.next = timer.next;
    else this.heads[slot] = timer.next;
    if (timer.next) timer.next.prev = timer.prev;
    timer.prev = undefined;
    timer.next = undefined;
  }

  private start(): void {
    if (!this.drive || this.interval) return;
    // the clock decides which ticks are due, so a late interval only delays, never skips
    this.interval = setInterval(onInterval, this.tick, this);
    this.interval.unref();
  }

  private stopIfEmpty(): void {
    if (this.count > 0 || !this.interval) return;
    clearInterval(this.interval);
    this.interval = undefined;
  }
}

function onInterval(wheel: TimerWheel): void {
  wheel.advance();
}

function rethrow(err: unknown): never {
  throw err;
}

const wheels = new Map<number, TimerWheel>();

/**
 * The process-wide wheel for timeouts whose shortest delay is `shortestDelay` ms: ticks of a tenth of
 * it, at most 100 ms, so servers with the default options share one wheel and tests with tiny
 * intervals keep their precision.
 */
export function sharedTimerWheel(shortestDelay: number): TimerWheel {
  const tick = Math.max(1, Math.min(MAX_TICK_MS, Math.floor(shortestDelay / 10)));
  let wheel = wheels.get(tick);
  if (!wheel) {
    wheel = new TimerWheel({ tick });
    wheels.set(tick, wheel);
  }
  return wheel;
}
