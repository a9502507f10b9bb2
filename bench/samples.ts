// Bounded sample buffers and percentiles (latencies, RTTs) for the load generator.

/** Summary of a set of samples, ms. */
export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Keeps up to `capacity` samples; later ones are counted but not kept (the cap bounds memory). */
export class Samples {
  private readonly values: Float64Array;
  private kept = 0;
  seen = 0;

  constructor(capacity = 2_000_000) {
    this.values = new Float64Array(capacity);
  }

  add(value: number): void {
    this.seen++;
    if (this.kept < this.values.length) this.values[this.kept++] = value;
  }

  summary(): Distribution | undefined {
    if (this.kept === 0) return undefined;
    const sorted = this.values.slice(0, this.kept).sort();
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    let sum = 0;
    for (const v of sorted) sum += v;
    return { count: this.seen, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1], mean: sum / sorted.length };
  }
}
