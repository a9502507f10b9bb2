// A token bucket refilled lazily from the clock on each take(): no timer per connection.

/** Tokens after `elapsed` ms at `rate` per second, holding at most `burst`. */
function refill(tokens: number, elapsed: number, rate: number, burst: number): number {
  return elapsed > 0 ? Math.min(burst, tokens + (elapsed * rate) / 1000) : tokens;
}

/** Rates of an InboundBudget, per second; each bucket holds twice its rate. */
export interface InboundRate {
  readonly packetsPerSecond: number;
  readonly bytesPerSecond: number;
}

/**
 * A connection's inbound budget: two buckets (packets, bytes) sharing one clock reading, in one small
 * object instead of two TokenBuckets (a session keeps one for its whole life).
 */
export class InboundBudget {
  private packets: number;
  private bytes: number;
  private at: number;

  constructor(rate: InboundRate, now = Date.now()) {
    this.packets = 2 * rate.packetsPerSecond;
    this.bytes = 2 * rate.bytesPerSecond;
    this.at = now;
  }

  /** Takes one packet of `bytes`; returns the rate that was exceeded, or undefined when admitted. */
  take(rate: InboundRate, bytes: number, now = Date.now()): keyof InboundRate | undefined {
    if (now > this.at) {
      this.packets = refill(this.packets, now - this.at, rate.packetsPerSecond, 2 * rate.packetsPerSecond);
      this.bytes = refill(this.bytes, now - this.at, rate.bytesPerSecond, 2 * rate.bytesPerSecond);
      this.at = now;
    }
    if (this.packets < 1) return 'packetsPerSecond';
    this.packets -= 1;
    if (this.bytes < bytes) return 'bytesPerSecond';
    this.bytes -= bytes;
    return undefined;
  }
}

/** `rate` tokens per second, holding at most `burst`. */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly rate: number;
  private readonly burst: number;

  constructor(rate: number, burst = rate * 2, now = Date.now()) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.last = now;
  }

  /** Takes `n` tokens; false (and nothing taken) when there are not enough. */
  take(n = 1, now = Date.now()): boolean {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = refill(this.tokens, elapsed, this.rate, this.burst);
      this.last = now;
    }
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Whether the bucket is full again (an idle entry that can be forgotten). */
  isFull(now = Date.now()): boolean {
    return this.tokens + ((now - this.last) * this.rate) / 1000 >= this.burst;
  }
}
