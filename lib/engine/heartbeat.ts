// One session's heartbeat (PROTOCOL.md §1.6) and the extra pings that confirm a busy WebSocket's messages.
import { WheelTimer, type TimerWheel } from '../util/timer-wheel';

/**
 * Unconfirmed messages after which a WebSocket session sends a confirmation ping. A pong confirms
 * everything queued before its ping, so the replay log (bound: 1024 packets / 1 MiB per socket) holds
 * about this much plus one round trip's worth instead of sitting at its bound between heartbeats (25 s):
 * 1/16 of the bound, for a ping and a pong of 1 byte each per 64 messages. Measured (docs/performance.md,
 * quick runs): 16 for every message cost the saturating broadcast 18 % more CPU per delivery; 64, no change seen.
 */
export const CONFIRM_AFTER_MESSAGES = 64;
/**
 * Unconfirmed messages of this session's own (a direct emit, an ack: not a broadcast's shared packet)
 * after which it pings. Only this log keeps such a record alive, so it is confirmed sooner: the record then
 * dies young, before V8 promotes it (echo with ack, quick runs against 64: CPU per ack 1.60 → 1.51 × the
 * ceiling, RTT p99 4.8 → 3.1 ms).
 */
export const CONFIRM_AFTER_OWN_MESSAGES = 16;
/** Unconfirmed bytes after which a WebSocket session sends a confirmation ping: 1/16 of the 1 MiB bound. */
export const CONFIRM_AFTER_BYTES = 64 * 1024;

/** What the heartbeat needs of its session. */
export interface HeartbeatOwner {
  /** Messages queued so far: the mark a ping queued now confirms. */
  readonly queuedMessages: number;
  /** Whether anyone wants confirmations (the replay logs of recovery): without, no confirmation pings. */
  readonly wantsConfirmations: boolean;
  /** Queues a PING after everything queued so far. */
  sendPing(): void;
  /** The pong to a ping came: the client has every message up to `mark`; `heartbeat` when it re-armed the interval. */
  onPong(mark: number, heartbeat: boolean): void;
  /** No pong within pingTimeout of the heartbeat's ping. */
  onPingTimeout(): void;
}

/**
 * The server's pings. The heartbeat pings `pingInterval` after the open or the last heartbeat pong and
 * closes the session when no pong follows within `pingTimeout`. Between two, a confirmation ping goes
 * out when enough was sent (confirmIfDue); at most one ping is ever unanswered, so a pong always answers
 * the one outstanding (the client answers in order). A confirmation ping still unanswered when the
 * heartbeat is due stands in for the heartbeat's (its pong is then due within pingTimeout), so a dead
 * peer is caught within pingInterval + pingTimeout of the last heartbeat pong, as without them.
 */
export class Heartbeat {
  private readonly owner: HeartbeatOwner;
  private readonly wheel: TimerWheel;
  private readonly interval: number;
  private readonly timeout: number;
  /** The next heartbeat ping, or while `waitingPong` the pong's deadline: one wheel entry. */
  private readonly timer: WheelTimer<Heartbeat>;
  /** The heartbeat is waiting for the pong of the outstanding ping. */
  private waitingPong = false;
  /** Whether a packet other than pong already restarted the current pong wait (once per ping). */
  private pongWaitRestarted = false;
  /** A ping was sent and its pong has not come (a pong now answers a ping of ours). */
  outstanding = false;
  /** queuedMessages when the last ping was queued: its pong confirms them. */
  private mark = 0;
  /** Bytes queued since the last ping. */
  private bytes = 0;
  /** Messages of the session's own (not shared with other sessions) queued since the last ping. */
  private own = 0;

  constructor(owner: HeartbeatOwner, wheel: TimerWheel, pingInterval: number, pingTimeout: number) {
    this.owner = owner;
    this.wheel = wheel;
    this.interval = pingInterval;
    this.timeout = pingTimeout;
    this.timer = new WheelTimer<Heartbeat>(onTimer, this);
  }

  /** Arms the next heartbeat ping, pingInterval from now. */
  start(): void {
    this.waitingPong = false;
    this.wheel.schedule(this.timer, this.interval);
  }

  stop(): void {
    this.wheel.cancel(this.timer);
    this.waitingPong = false;
  }

  /** @internal the timer fired: the pong is late, or a heartbeat ping is due */
  onTimer(): void {
    if (this.waitingPong) {
      this.owner.onPingTimeout();
      return;
    }
    // an unanswered confirmation ping stands in for this one: a second would break the one-outstanding rule
    if (!this.outstanding) this.ping();
    this.pongWaitRestarted = false;
    this.waitForPong();
  }

  /**
   * `bytes` more, `own` messages of them not shared with other sessions, were queued on a transport only a
   * pong confirms (WebSocket): pings when what was queued since the last ping passed a threshold and no
   * ping is outstanding.
   */
  confirmIfDue(bytes: number, own: number): void {
    this.bytes += bytes;
    this.own += own;
    if (this.outstanding) return;
    if (this.owner.queuedMessages - this.mark >= CONFIRM_AFTER_MESSAGES || this.own >= CONFIRM_AFTER_OWN_MESSAGES || this.bytes >= CONFIRM_AFTER_BYTES) {
      if (this.owner.wantsConfirmations) {
        this.ping();
        return;
      }
      // nobody keeps a log to trim: start counting again instead of asking on every send
      this.mark = this.owner.queuedMessages;
      this.bytes = 0;
      this.own = 0;
    }
  }

  /** A packet from the client on the active transport. */
  onPacket(isPong: boolean): void {
    if (isPong) {
      this.onPong();
      return;
    }
    // a client busy sending may answer late: its first other packet restarts the wait once (engine.io 6.6)
    if (this.waitingPong && !this.pongWaitRestarted) {
      this.pongWaitRestarted = true;
      this.waitForPong();
    }
  }

  private onPong(): void {
    // a pong nobody asked for proves nothing (the client answers each ping once, in order)
    if (!this.outstanding) return;
    this.outstanding = false;
    const heartbeat = this.waitingPong;
    // a confirmation pong leaves the heartbeat's schedule alone: the interval runs from heartbeat pongs
    if (heartbeat) this.start();
    this.owner.onPong(this.mark, heartbeat);
  }

  private ping(): void {
    this.outstanding = true;
    // everything queued before the ping reaches the client before it: its pong confirms them
    this.mark = this.owner.queuedMessages;
    this.bytes = 0;
    this.own = 0;
    this.owner.sendPing();
  }

  private waitForPong(): void {
    this.waitingPong = true;
    this.wheel.schedule(this.timer, this.timeout);
  }
}

function onTimer(heartbeat: Heartbeat): void {
  heartbeat.onTimer();
}
