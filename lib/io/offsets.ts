// Recovery offsets: the last argument the server appends to each event, `<epoch>.<counter base36>`.
import { randomBytes } from 'node:crypto';

/**
 * One counter per server process. The epoch (random, per process) keeps offsets of a previous process
 * or another node from being mistaken for ours; the counter orders every event this process sent.
 */
export class Offsets {
  readonly epoch = randomBytes(4).toString('hex');
  private counter = 0;
  private readonly prefix = `${this.epoch}.`;

  /** The last offset handed out (0: none yet). */
  get current(): number {
    return this.counter;
  }

  /** A fresh offset: its number and its wire form. */
  next(): { value: number; text: string } {
    const value = ++this.counter;
    return { value, text: this.prefix + value.toString(36) };
  }

  /** The number of one of our offsets; undefined for anything else (another process's, garbage). */
  parse(text: unknown): number | undefined {
    if (typeof text !== 'string' || !text.startsWith(this.prefix) || text.length > this.prefix.length + 12) return undefined;
    const digits = text.slice(this.prefix.length);
    if (!/^[0-9a-z]+$/.test(digits)) return undefined;
    const value = parseInt(digits, 36);
    return Number.isSafeInteger(value) && value <= this.counter ? value : undefined;
  }
}
