// A token bucket refilled lazily from the clock on each take(): no timer per connection.

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
      this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
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
