// An incoming event's way to its handlers: its ack callback, and an emit that passes the ack as one more argument.
import { EventEmitter } from 'node:events';
import { PacketType, type Packet } from '../codec/types';
import type { BroadcastFlags } from '../adapter/adapter';

/** The callback an app gets as the last argument of an event that asks for an acknowledgement. */
export type AckCallback = (...args: unknown[]) => void;

/** What an ack callback needs of its socket: the namespace its answer goes to, and the way out. */
export interface AckSender {
  readonly nsp: { readonly name: string };
  readonly client: { sendPacket(packet: Packet, flags: BroadcastFlags): boolean };
}

const NO_FLAGS: BroadcastFlags = Object.freeze({});
const emit = EventEmitter.prototype.emit;

/** The ack callback for packet `id`: it answers once, even if the app calls it twice. */
export function ackCallback(socket: AckSender, id: number): AckCallback {
  let sent = false;
  return (...args: unknown[]) => {
    if (sent) return;
    sent = true;
    socket.client.sendPacket({ type: PacketType.ACK, nsp: socket.nsp.name, id, data: args }, NO_FLAGS);
  };
}

/**
 * Emits `args` (`[name, ...arguments]`) on `emitter` with EventEmitter's own emit, `ack` appended as one
 * more argument when given; `args` is left as it is. Up to three elements are passed one by one: a
 * JSON-parsed array has no spare capacity, so a push would reallocate it, and a spread copies it.
 * @throws what a listener throws (the caller logs it)
 */
export function emitEvent(emitter: EventEmitter, args: unknown[], ack: AckCallback | undefined): void {
  const name = args[0] as string;
  if (ack === undefined) {
    switch (args.length) {
      case 1:
        emit.call(emitter, name);
        return;
      case 2:
        emit.call(emitter, name, args[1]);
        return;
      case 3:
        emit.call(emitter, name, args[1], args[2]);
        return;
      default:
        emit.apply(emitter, args as [string, ...unknown[]]);
        return;
    }
  }
  switch (args.length) {
    case 1:
      emit.call(emitter, name, ack);
      return;
    case 2:
      emit.call(emitter, name, args[1], ack);
      return;
    case 3:
      emit.call(emitter, name, args[1], args[2], ack);
      return;
    default: {
      const all = args.slice();
      all.push(ack);
      emit.apply(emitter, all as [string, ...unknown[]]);
    }
  }
}

/** The event's arguments without its name, the ack (if any) last: what the classic `message` listeners get. */
export function argumentsOf(args: readonly unknown[], ack: AckCallback | undefined): unknown[] {
  const rest = args.slice(1);
  if (ack !== undefined) rest.push(ack);
  return rest;
}
