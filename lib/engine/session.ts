// One Engine.IO connection: state, heartbeat, outgoing queue, polling → WebSocket upgrade, close with a reason.
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { EnginePacketType, packetSize, toBuffer, type EnginePacket, type RawData } from '../codec/engine-packet';
import { isLevelEnabled, type Logger } from '../logger';
import type { ResolvedEngineOptions } from '../options';
import { noopHandler as noopTransportHandler, type Transport, type TransportHandler } from './transport';
import { describeCode, type ErrorCode } from '../errors';
import { InboundBudget } from '../util/token-bucket';
import { WheelTimer, type TimerWheel } from '../util/timer-wheel';
import { Heartbeat, type HeartbeatOwner } from './heartbeat';

export type ReadyState = 'opening' | 'open' | 'closing' | 'closed';

/**
 * Why a session ended, with socket.io's strings: 'transport close', 'transport error', 'ping timeout',
 * 'parse error', 'forced close', 'server shutting down'.
 */
export type CloseReason = string;

/** What the app may send: text, or binary in any of the usual shapes. */
export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView;

export interface EngineSocketEvents {
  message: [data: RawData];
  close: [reason: CloseReason, description?: string];
  drain: [];
  upgrading: [transport: Transport];
  upgrade: [transport: Transport];
  heartbeat: [];
  packet: [packet: EnginePacket];
  /** The client has every message up to this count (a pong — heartbeat or confirmation — or the next polling GET, proved it). */
  confirm: [messages: number];
}

/** What a session needs of its server: refusal counters, the timer wheel, word of its end (before `close`). */
export interface SessionHost {
  readonly metrics: Partial<Record<ErrorCode, number>>;
  readonly wheel: TimerWheel;
  sessionClosed?(session: EngineSocket): void;
}

/** Interval of the check that releases a held GET with a noop while an upgrade is probed (official: 100 ms). */
const UPGRADE_NOOP_INTERVAL_MS = 100;

/**
 * One Engine.IO session. Emits `message`, `close` (reason, description), `drain`, `upgrading`, `upgrade`;
 * offers `send` and `close`. Whatever transport carries it, packets leave in the order they were sent.
 */
export class EngineSocket extends EventEmitter<EngineSocketEvents> implements TransportHandler, HeartbeatOwner {
  readonly id: string;
  /** The handshake request, with whatever the app's middleware put on it (req.session, req.user…). */
  readonly request: IncomingMessage;
  /** Client address, through Express's `trust proxy` when the request went through Express. */
  readonly remoteAddress: string;
  readonly protocol = 4;
  readyState: ReadyState = 'opening';
  transport: Transport;
  /** True once the session moved from polling to WebSocket. */
  upgraded = false;
  /** True while a WebSocket probe is on trial. */
  upgrading = false;
  log: Logger;
  private writeBuffer: EnginePacket[] = [];
  private readonly traceFlush: boolean;
  /** Bytes of the messages in writeBuffer. */
  private writeBufferBytes = 0;
  /** Messages queued since the session opened: a message's mark is this count once it is queued. */
  queuedMessages = 0;
  /** Messages handed to the transport (every flush hands over the whole buffer). */
  flushedMessages = 0;
  /** Messages the client is known to have received. */
  confirmedMessages = 0;
  private readonly opts: ResolvedEngineOptions;
  /** Heartbeat pings, and over WebSocket the confirmation pings of a busy session (engine/heartbeat.ts). */
  private readonly heartbeat: Heartbeat;
  private probe: Transport | undefined;
  private readonly host: SessionHost;
  /** Inbound budget (packets and bytes per second), when `inboundRate` is on. */
  private readonly budget: InboundBudget | undefined;
  private probeTimer: WheelTimer<EngineSocket> | undefined;
  private noopTimer: NodeJS.Timeout | undefined;

  constructor(
    id: string,
    transport: Transport,
    request: IncomingMessage,
    remoteAddress: string,
    opts: ResolvedEngineOptions,
    log: Logger,
    host: SessionHost,
  ) {
    super();
    this.host = host;
    this.heartbeat = new Heartbeat(this, host.wheel, opts.pingInterval, opts.pingTimeout);
    if (opts.inboundRate) this.budget = new InboundBudget(opts.inboundRate);
    this.id = id;
    this.request = request;
    this.remoteAddress = remoteAddress;
    this.opts = opts;
    this.log = log;
    // asked once: the flush path runs for every delivery
    this.traceFlush = isLevelEnabled(log, 'trace');
    this.transport = transport;
    transport.handler = this;
  }

  /** Queues the open packet and starts the heartbeat; called once by the server after the handshake. */
  open(): void {
    this.readyState = 'open';
    const upgrades = this.transport.name === 'polling' && this.opts.allowUpgrades ? this.opts.transports.filter((t) => t !== 'polling') : [];
    const { pingInterval, pingTimeout, maxHttpBufferSize: maxPayload } = this.opts;
    this.sendPacket(EnginePacketType.OPEN, JSON.stringify({ sid: this.id, upgrades, pingInterval, pingTimeout, maxPayload }));
    this.heartbeat.start();
  }

  /** Sends a message (text or binary). Silently dropped once the session is closing. */
  send(data: SendData, callback?: () => void): this {
    const payload: RawData = typeof data === 'string' ? data : toBuffer(data);
    if (this.readyState === 'open' || this.readyState === 'opening') this.queuedMessages++;
    this.sendPacket(EnginePacketType.MESSAGE, payload);
    // each polling GET confirms what it carried; only a pong confirms a WebSocket's messages
    if (this.readyState === 'open' && this.transport.name !== 'polling') this.heartbeat.confirmIfDue(payload.length, 1);
    if (callback) process.nextTick(callback);
    return this;
  }

  /**
   * Queues several MESSAGE packets in one flush (a packet and its binary attachments leave in one
   * polling answer). The packets may be shared between sessions (`shared`: a broadcast's): they are never
   * mutated. Returns the message count once they are queued (their mark), or -1 when the session is closing.
   */
  sendPackets(packets: readonly EnginePacket[], bytes: number, shared = false): number {
    if (this.readyState !== 'open') return -1;
    this.queuedMessages += packets.length;
    if (this.writeBuffer.length === 0 && this.transport.writable) {
      // nothing queued ahead and the transport takes it now (a WebSocket): handed over as they are
      this.flushedMessages = this.queuedMessages;
      if (this.traceFlush) this.log.trace({ packets: packets.length }, 'flush');
      this.transport.send(packets);
      if (this.transport.name !== 'polling') this.heartbeat.confirmIfDue(bytes, shared ? 0 : packets.length);
      this.emit('drain');
      return this.queuedMessages;
    }
    for (const packet of packets) this.writeBuffer.push(packet);
    this.writeBufferBytes += bytes;
    this.flush();
    if (this.transport.name !== 'polling') this.heartbeat.confirmIfDue(bytes, shared ? 0 : packets.length);
    return this.queuedMessages;
  }

  /** Bytes waiting to be written: our queue plus what the transport still buffers. */
  get pendingBytes(): number {
    return this.writeBufferBytes + this.transport.bufferedBytes;
  }

  /** Packets waiting in our queue for the transport. */
  get pendingPackets(): number {
    return this.writeBuffer.length;
  }

  private confirm(mark: number): void {
    if (mark <= this.confirmedMessages) return;
    this.confirmedMessages = mark;
    this.emit('confirm', mark);
  }

  /** Alias of send(), as in engine.io. */
  write(data: SendData, callback?: () => void): this {
    return this.send(data, callback);
  }

  /** Closes the session once what is queued has been handed to the transport. */
  close(discard = false): void {
    if (discard && (this.readyState === 'open' || this.readyState === 'closing')) {
      this.closeTransport(true);
      return;
    }
    if (this.readyState !== 'open') return;
    this.readyState = 'closing';
    if (this.writeBuffer.length > 0) {
      this.once('drain', () => this.closeTransport(false));
      return;
    }
    this.closeTransport(false);
  }

  private closeTransport(discard: boolean): void {
    if (discard) this.transport.discard();
    this.transport.close(() => this.onClose('forced close'));
  }

  private sendPacket(type: EnginePacketType, data?: RawData): void {
    if (this.readyState === 'closing' || this.readyState === 'closed') return;
    this.writeBuffer.push(data === undefined ? { type } : { type, data });
    this.flush();
  }

  /** Hands everything queued to the transport when it can take it. */
  flush(): void {
    if (this.readyState === 'closed' || !this.transport.writable || this.writeBuffer.length === 0) return;
    const batch = this.writeBuffer;
    this.writeBuffer = [];
    this.writeBufferBytes = 0;
    this.flushedMessages = this.queuedMessages;
    if (this.traceFlush) this.log.trace({ packets: batch.length }, 'flush');
    this.transport.send(batch);
    this.emit('drain');
  }

  // --- HeartbeatOwner (server pings, PROTOCOL.md §1.6) ---

  /** @internal asked only once a confirmation ping is due (every few dozen messages), not per send */
  get wantsConfirmations(): boolean {
    return this.listenerCount('confirm') > 0;
  }

  /** @internal */
  sendPing(): void {
    this.sendPacket(EnginePacketType.PING);
  }

  /** @internal */
  onPong(mark: number, heartbeat: boolean): void {
    if (heartbeat) this.emit('heartbeat');
    this.confirm(mark);
    // what was queued while the ping was out may be over the threshold already: asked now, not on the next send
    if (this.readyState === 'open' && this.transport.name !== 'polling') this.heartbeat.confirmIfDue(0, 0);
  }

  /** @internal */
  onPingTimeout(): void {
    this.onClose('ping timeout');
  }

  // --- TransportHandler ---

  onTransportPacket(transport: Transport, packet: EnginePacket): void {
    if (transport === this.probe) {
      // a probe's packets cost the session's budget too: it is the same peer
      if (this.admit(packetSize(packet))) this.onProbePacket(transport, packet);
      return;
    }
    if (transport !== this.transport || this.readyState !== 'open') return;
    const isPong = packet.type === EnginePacketType.PONG;
    // the pong to our outstanding ping is not charged: we asked for it (at most one ping is outstanding)
    if (!(isPong && this.heartbeat.outstanding) && !this.admit(packetSize(packet))) return;
    this.emit('packet', packet);
    this.heartbeat.onPacket(isPong);
    switch (packet.type) {
      case EnginePacketType.PONG:
        // answered in heartbeat.onPacket above
        break;
      case EnginePacketType.MESSAGE:
        this.emit('message', packet.data ?? '');
        break;
      case EnginePacketType.PING:
        // v4 clients never ping (v3 did): a violation, closed with the official reason 'transport error'
        this.refuse('ERR_BAD_PACKET', 'transport error', { detail: 'invalid heartbeat direction' });
        break;
      case EnginePacketType.CLOSE:
        this.onClose('transport close');
        break;
      default:
        // open, upgrade and noop have no meaning from the client on the active transport
        break;
    }
  }

  onTransportReady(transport: Transport): void {
    if (transport !== this.transport) return;
    // a polling client asks again only once it has read the previous answer
    if (transport.name === 'polling') this.confirm(this.flushedMessages);
    if (this.writeBuffer.length > 0) this.flush();
    else this.emit('drain');
  }

  /** A WebSocket control frame from the peer: it counts against the budget too. False = refused. */
  onControlFrame(transport: Transport, bytes: number): boolean {
    if (transport !== this.transport && transport !== this.probe) return false;
    return this.admit(bytes);
  }

  /** Takes one packet of `bytes` from the inbound budget; over it, the session ends (ERR_RATE_LIMITED). */
  private admit(bytes: number): boolean {
    const rate = this.opts.inboundRate;
    if (!rate || !this.budget || this.readyState === 'closed') return this.readyState !== 'closed';
    const exceeded = this.budget.take(rate, bytes);
    if (exceeded === undefined) return true;
    this.refuse('ERR_RATE_LIMITED', 'rate limited', { exceeded, limit: rate[exceeded], burst: 2 * rate[exceeded] });
    return false;
  }

  /**
   * Ends the session for a peer's fault with one of the table's codes: one warn line, a counter, the
   * WebSocket close code and the code as close reason, and `close` with (reason, code).
   */
  refuse(code: ErrorCode, reason: string, fields: Record<string, unknown> = {}): void {
    if (this.readyState === 'closed') return;
    this.logRefusal(code, `closing session: ${reason}`, fields);
    const { transport } = this;
    transport.handler = noopTransportHandler;
    transport.close(undefined, describeCode(code).wsClose ?? 1008, code);
    this.onClose(reason, code);
  }

  /** One warn line and one count for a refusal (the sid, transport and address come from the child logger). */
  private logRefusal(code: ErrorCode, message: string, fields: Record<string, unknown>): void {
    const { metrics } = this.host;
    metrics[code] = (metrics[code] ?? 0) + 1;
    this.log.warn({ code, ...fields }, message);
  }

  onTransportError(transport: Transport, reason: string, detail?: string, code?: ErrorCode): void {
    if (transport === this.probe) {
      // a probe that breaks the protocol fails the upgrade only: polling goes on
      if (code) this.logRefusal(code, 'upgrade refused', { detail });
      this.failUpgrade(detail ?? reason);
      return;
    }
    if (transport !== this.transport) return;
    if (code) {
      this.refuse(code, reason, { detail });
      return;
    }
    if (reason === 'parse error') {
      this.refuse('ERR_BAD_PACKET', 'parse error', { detail });
      return;
    }
    this.onClose(reason, detail);
  }

  onTransportClose(transport: Transport): void {
    if (transport === this.probe) {
      this.failUpgrade('transport closed');
      return;
    }
    if (transport === this.transport) this.onClose('transport close');
  }

  // --- upgrade (PROTOCOL.md §1.7) ---

  /** Whether a WebSocket for this session may start an upgrade now. */
  canUpgrade(): boolean {
    return this.readyState === 'open' && !this.upgraded && !this.upgrading && this.transport.name === 'polling' && this.opts.allowUpgrades;
  }

  /** Puts a WebSocket on trial: it must send `2probe`, then `5`, within upgradeTimeout. */
  beginUpgrade(transport: Transport): void {
    this.upgrading = true;
    this.probe = transport;
    transport.handler = this;
    this.probeTimer ??= new WheelTimer<EngineSocket>(onUpgradeTimeout, this);
    this.host.wheel.schedule(this.probeTimer, this.opts.upgradeTimeout);
  }

  private onProbePacket(transport: Transport, packet: EnginePacket): void {
    if (packet.type === EnginePacketType.PING && packet.data === 'probe') {
      // one probe per trial (the noop timer runs once it was answered): a peer repeating it without reading
      // our `3probe`s would otherwise grow the probe's write buffer without bound
      if (this.noopTimer !== undefined) {
        this.failUpgrade('probe repeated');
        return;
      }
      transport.send([{ type: EnginePacketType.PONG, data: 'probe' }]);
      this.emit('upgrading', transport);
      this.noopTimer = setInterval(onUpgradeCheck, UPGRADE_NOOP_INTERVAL_MS, this);
      return;
    }
    if (packet.type === EnginePacketType.UPGRADE && this.readyState !== 'closed') {
      this.completeUpgrade(transport);
      return;
    }
    this.failUpgrade(`unexpected packet during upgrade: ${packet.type}`);
  }

  /** @internal releases a held GET so the client can finish the upgrade */
  sendUpgradeNoop(): void {
    if (this.transport.name === 'polling' && this.transport.writable) {
      this.transport.send([{ type: EnginePacketType.NOOP }]);
    }
  }

  private completeUpgrade(transport: Transport): void {
    this.endProbe();
    const old = this.transport;
    old.handler = noopTransportHandler;
    old.discard();
    old.close();
    this.transport = transport;
    this.upgraded = true;
    this.log = this.log.child({ transport: transport.name });
    this.emit('upgrade', transport);
    this.flush();
    if (this.readyState === 'closing') transport.close(() => this.onClose('forced close'));
  }

  /** @internal the probe failed or timed out: close it, polling goes on unharmed */
  failUpgrade(reason: string): void {
    const probe = this.probe;
    if (!probe) return;
    this.log.debug({ reason }, 'upgrade failed');
    this.endProbe();
    probe.handler = noopTransportHandler;
    probe.close();
  }

  private endProbe(): void {
    this.upgrading = false;
    this.probe = undefined;
    if (this.probeTimer) this.host.wheel.cancel(this.probeTimer);
    clearInterval(this.noopTimer);
    this.noopTimer = undefined;
  }

  // --- end of life ---

  /** Ends the session once, with its reason; the transport is closed if it is not already. */
  onClose(reason: CloseReason, description?: string): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    this.heartbeat.stop();
    this.failUpgrade('socket closed');
    this.writeBuffer = [];
    const { transport } = this;
    transport.handler = noopTransportHandler;
    if (!transport.closed) transport.close();
    this.log.debug({ reason, description }, 'session closed');
    this.host.sessionClosed?.(this);
    this.emit('close', reason, description);
  }
}

// Timer callbacks are module functions reaching their session through the argument, not closures.
function onUpgradeTimeout(session: EngineSocket): void {
  session.failUpgrade('upgrade timeout');
}

function onUpgradeCheck(session: EngineSocket): void {
  session.sendUpgradeNoop();
}
