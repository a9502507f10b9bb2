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

/**
 * A socket's pending acks by packet id. Still a Map: adapters put the shared callback of a broadcast
 * with acks straight into `socket.acks`, as socket.io-adapter does.
 */
export class AckMap extends Map<number, AckFn> {
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
    for (const [id, ack] of this) {
      if (!ack.withError) continue;
      this.delete(id);
      callApp(owner.log, owner, ack, [new Error('socket has been disconnected')], 'ack callback');
    }
    this.clear();
  }
}
