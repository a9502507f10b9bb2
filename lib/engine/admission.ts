// Admission control for handshakes: total and per-address session caps, handshakes per second per address.
import type { ErrorCode } from '../errors';
import { TokenBucket } from '../util/token-bucket';

/** Why a handshake was turned away. */
export interface AdmissionRefusal {
  readonly errorCode: ErrorCode;
  readonly status: number;
  readonly message: string;
  readonly limit: number;
  readonly value: number;
}

/** How many idle per-address entries may pile up before a sweep forgets the idle ones. */
const SWEEP_AT = 10000;

export class Admission {
  private readonly maxConnections: number;
  private readonly maxPerAddress: number;
  private readonly handshakesPerSecond: number;
  private readonly open = new Map<string, number>();
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(opts: { maxConnections: number; maxConnectionsPerAddress: number; maxHandshakesPerSecond: number }) {
    this.maxConnections = opts.maxConnections;
    this.maxPerAddress = opts.maxConnectionsPerAddress;
    this.handshakesPerSecond = opts.maxHandshakesPerSecond;
  }

  /** Whether a handshake from `address` may open a session now that `total` are open. */
  check(address: string, total: number): AdmissionRefusal | undefined {
    if (this.maxConnections > 0 && total >= this.maxConnections) {
      return { errorCode: 'ERR_TOO_MANY_CONNECTIONS', status: 503, message: 'Too many connections', limit: this.maxConnections, value: total };
    }
    const mine = this.open.get(address) ?? 0;
    if (this.maxPerAddress > 0 && mine >= this.maxPerAddress) {
      return { errorCode: 'ERR_TOO_MANY_CONNECTIONS', status: 429, message: 'Too many connections from this address', limit: this.maxPerAddress, value: mine };
    }
    if (this.handshakesPerSecond > 0) {
      let bucket = this.buckets.get(address);
      if (!bucket) {
        if (this.buckets.size >= SWEEP_AT) this.sweep();
        bucket = new TokenBucket(this.handshakesPerSecond);
        this.buckets.set(address, bucket);
      }
      if (!bucket.take()) {
        return { errorCode: 'ERR_TOO_MANY_HANDSHAKES', status: 429, message: 'Too many handshakes', limit: this.handshakesPerSecond, value: this.handshakesPerSecond + 1 };
      }
    }
    return undefined;
  }

  opened(address: string): void {
    if (this.maxPerAddress > 0) this.open.set(address, (this.open.get(address) ?? 0) + 1);
  }

  closed(address: string): void {
    if (this.maxPerAddress === 0) return;
    const n = (this.open.get(address) ?? 1) - 1;
    if (n <= 0) this.open.delete(address);
    else this.open.set(address, n);
  }

  /** Forgets the addresses whose buckets refilled: the map stays bounded by recent activity. */
  private sweep(): void {
    const now = Date.now();
    for (const [address, bucket] of this.buckets) if (bucket.isFull(now)) this.buckets.delete(address);
  }
}
