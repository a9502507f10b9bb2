// Unit-test doubles for an Engine.IO session: a transport that keeps what it is sent, a 1 ms fake clock.
import type { EnginePacket } from '../../lib/codec/engine-packet';
import { Transport } from '../../lib/engine/transport';
import { TimerWheel } from '../../lib/util/timer-wheel';

/** A transport that is always writable and keeps what it was given. */
export class FakeTransport extends Transport {
  readonly supportsBinary = true;
  sent: EnginePacket[] = [];
  constructor(readonly name: 'websocket' | 'polling' = 'websocket') {
    super();
    this.writable = true;
  }
  send(packets: readonly EnginePacket[]): void {
    this.sent.push(...packets);
  }
  close(onClose?: () => void): void {
    onClose?.();
    this.reportClose();
  }
}

/** A fake clock driving a timer wheel: tick(ms) moves it 1 ms at a time and runs the wheel, as its interval would. */
export function fakeClock(): { wheel: TimerWheel; tick(ms: number): void; now(): number } {
  let now = 0;
  const wheel = new TimerWheel({ tick: 1, now: () => now, drive: false });
  return {
    wheel,
    now: () => now,
    tick(ms: number): void {
      for (let i = 0; i < ms; i++) {
        now++;
        wheel.advance();
      }
    },
  };
}
