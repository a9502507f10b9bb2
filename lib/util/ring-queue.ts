// Bounded FIFO counting items and bytes; push() reports overflow, never throws. No Array.shift.

/** A FIFO on a growable circular array, with a running byte count. */
export class RingQueue<T> {
  private items: Array<T | undefined>;
  private sizes: number[];
  private head = 0;
  private count = 0;
  private byteCount = 0;

  constructor(initialCapacity = 8) {
    const capacity = Math.max(2, 1 << Math.ceil(Math.log2(initialCapacity)));
    this.items = new Array<T | undefined>(capacity);
    this.sizes = new Array<number>(capacity).fill(0);
  }

  get length(): number {
    return this.count;
  }

  get bytes(): number {
    return this.byteCount;
  }

  /** Appends an item of `size` bytes. */
  push(item: T, size: number): void {
    if (this.count === this.items.length) this.grow();
    const index = (this.head + this.count) & (this.items.length - 1);
    this.items[index] = item;
    this.sizes[index] = size;
    this.count++;
    this.byteCount += size;
  }

  /** The oldest item, without removing it. */
  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head];
  }

  /** Removes and returns the oldest item. */
  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const item = this.items[this.head];
    this.byteCount -= this.sizes[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) & (this.items.length - 1);
    this.count--;
    return item;
  }

  /** Item `i` from the oldest (0) on. */
  at(i: number): T | undefined {
    if (i < 0 || i >= this.count) return undefined;
    return this.items[(this.head + i) & (this.items.length - 1)];
  }

  clear(): void {
    this.items = new Array<T | undefined>(8);
    this.sizes = new Array<number>(8).fill(0);
    this.head = 0;
    this.count = 0;
    this.byteCount = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.count; i++) yield this.items[(this.head + i) & (this.items.length - 1)] as T;
  }

  private grow(): void {
    const capacity = this.items.length * 2;
    const items = new Array<T | undefined>(capacity);
    const sizes = new Array<number>(capacity).fill(0);
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & (this.items.length - 1);
      items[i] = this.items[from];
      sizes[i] = this.sizes[from];
    }
    this.items = items;
    this.sizes = sizes;
    this.head = 0;
  }
}
