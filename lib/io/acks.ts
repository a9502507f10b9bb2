// Pending acknowledgements of a socket's emits: timeouts, exactly-once answers, settled on disconnect.
import type { Logger } from '../logger';
import { callApp } from './app-call';

/** An ack callback; `withError` ones take (err, ...answer) and are settled on timeout and disconnect. */
export type AckFn = ((...args: unknown[]) => unknown) & { withError?: boolean };

/** What the acks need of their socket: where to log, and the replay log to tell about answers. */
export interface AckOwner {
  readonly log: Logger;
  readonly client: { readonly outbox?: { answered(id: number): void } };
}

const NO_ACKS: ReadonlyMap<number, AckFn> = new Map();

/**
 * A socket's pending acks by packet id, with a Map's surface: adapters put the shared callback of a
 * broadcast with acks straight into `socket.acks`, as socket.io-adapter does. The Map behind it is
 * made on the first ack: most sockets never wait for one, and an empty Map is ~200 bytes each.
 */
export class AckMap implements Map<number, AckFn> {
  private map: Map<number, AckFn> | undefined = undefined;

  get [Symbol.toStringTag](): string {
    return 'AckMap';
  }

  get size(): number {
    return this.map ? this.map.size : 0;
  }

  get(id: number): AckFn | undefined {
    return this.map?.get(id);
  }

  has(id: number): boolean {
    return this.map !== undefined && this.map.has(id);
  }

  set(id: number, ack: AckFn): this {
    (this.map ??= new Map()).set(id, ack);
    return this;
  }

  delete(id: number): boolean {
    return this.map !== undefined && this.map.delete(id);
  }

  clear(): void {
    this.map = undefined;
  }

  keys(): IterableIterator<number> {
    return (this.map ?? NO_ACKS).keys();
  }

  values(): IterableIterator<AckFn> {
    return (this.map ?? NO_ACKS).values();
  }

  entries(): IterableIterator<[number, AckFn]> {
    return (this.map ?? NO_ACKS).entries();
  }

  [Symbol.iterator](): IterableIterator<[number, AckFn]> {
    return this.entries();
  }

  forEach(fn: (ack: AckFn, id: number, map: Map<number, AckFn>) => void, thisArg?: unknown): void {
    for (const [id, ack] of this.map ?? NO_ACKS) fn.call(thisArg, ack, id, this);
  }

  /** Registers `ack` for `id`; with `timeout`, it gets an Error after that many ms without an answer. */
  register(id: number, ack: AckFn, timeout: number | undefined, owner: AckOwner): void {
    if (timeout === undefined) {
      this.set(id, ack);
      return;
    }
    const timer = setTimeout(() => {
      this.delete(id);
      owner.client.outbox?.answered(id);
      callApp(owner.log, owner, ack, [new Error('operation has timed out')], 'ack callback');
    }, timeout);
    // returns the callback's result, so callApp sees the promise of an async callback
    const settle = ((...args: unknown[]) => {
      clearTimeout(timer);
      return ack.apply(owner, args);
    }) as AckFn;
    settle.withError = true;
    this.set(id, settle);
  }

  /** The client answered `id`: the callback runs once, with `this` the socket (broadcast acks read its id). */
  answer(id: number, args: unknown[], owner: AckOwner): void {
    const ack = this.get(id);
    if (!ack) return;
    this.delete(id);
    owner.client.outbox?.answered(id);
    if (ack.withError) args.unshift(null);
    callApp(owner.log, owner, ack, args, 'ack callback');
  }

  /** The socket left: acks that expect an answer in bounded time learn now that none will come. */
  failAll(owner: AckOwner): void {
    if (!this.map) return;
    for (const [id, ack] of this.map) {
      if (!ack.withError) continue;
      this.delete(id);
      callApp(owner.log, owner, ack, [new Error('socket has been disconnected')], 'ack callback');
    }
    this.clear();
  }
}
