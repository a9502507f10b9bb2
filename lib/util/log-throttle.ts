// At most one log line per interval for a kind of event a peer can repeat at will, counting those left out.

/**
 * Lets one line through per `intervalMs`. A peer (or a misrouted load balancer) that repeats an event
 * thousands of times a second then costs one line per interval, not one per request, and the line says
 * how many were left out since the previous one.
 */
export class LogThrottle {
  private readonly intervalMs: number;
  private nextAt = -Infinity;
  private suppressed = 0;

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  /**
   * Called once per event, with a monotonic clock in ms: `undefined` when the line must not be logged,
   * otherwise how many events were left out since the last line let through.
   */
  take(now: number): number | undefined {
    if (now < this.nextAt) {
      this.suppressed++;
      return undefined;
    }
    this.nextAt = now + this.intervalMs;
    const left = this.suppressed;
    this.suppressed = 0;
    return left;
  }
}
