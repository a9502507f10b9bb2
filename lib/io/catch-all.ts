// onAny / onAnyOutgoing: catch-all listeners of a socket, for every packet in and out.
import { EventEmitter } from 'node:events';
import type { Packet } from '../codec/types';
import type { Logger } from '../logger';
import { callApp } from './app-call';

export type AnyListener = (event: string, ...args: unknown[]) => void;

/** An EventEmitter with socket.io's catch-all listener families; faults in them are logged, not thrown. */
export abstract class CatchAllEmitter extends EventEmitter {
  abstract readonly log: Logger;
  private anyListeners: AnyListener[] | undefined;
  private anyOutgoingListeners: AnyListener[] | undefined;

  onAny(listener: AnyListener): this {
    (this.anyListeners ??= []).push(listener);
    return this;
  }

  prependAny(listener: AnyListener): this {
    (this.anyListeners ??= []).unshift(listener);
    return this;
  }

  offAny(listener?: AnyListener): this {
    this.anyListeners = removeListener(this.anyListeners, listener);
    return this;
  }

  listenersAny(): AnyListener[] {
    return [...(this.anyListeners ?? [])];
  }

  onAnyOutgoing(listener: AnyListener): this {
    (this.anyOutgoingListeners ??= []).push(listener);
    return this;
  }

  prependAnyOutgoing(listener: AnyListener): this {
    (this.anyOutgoingListeners ??= []).unshift(listener);
    return this;
  }

  offAnyOutgoing(listener?: AnyListener): this {
    this.anyOutgoingListeners = removeListener(this.anyOutgoingListeners, listener);
    return this;
  }

  listenersAnyOutgoing(): AnyListener[] {
    return [...(this.anyOutgoingListeners ?? [])];
  }

  /** Called for every packet sent to this socket, broadcasts included (adapters call it too). */
  notifyOutgoingListeners(packet: Packet): void {
    const listeners = this.anyOutgoingListeners;
    if (!listeners || listeners.length === 0) return;
    for (const listener of [...listeners]) callApp(this.log, this, listener, packet.data as unknown[], 'onAnyOutgoing listener');
  }

  /** Whether an onAny listener is registered (incoming events then need their ack inside the array). */
  protected get hasAnyListeners(): boolean {
    return this.anyListeners !== undefined && this.anyListeners.length > 0;
  }

  /** Runs the onAny listeners for an incoming event `[name, ...args]`. */
  protected notifyIncomingListeners(args: unknown[]): void {
    const listeners = this.anyListeners;
    if (!listeners || listeners.length === 0) return;
    for (const listener of [...listeners]) callApp(this.log, this, listener, args, 'onAny listener');
  }
}

function removeListener(list: AnyListener[] | undefined, listener: AnyListener | undefined): AnyListener[] | undefined {
  if (!list || !listener) return undefined;
  const i = list.indexOf(listener);
  if (i !== -1) list.splice(i, 1);
  return list;
}
