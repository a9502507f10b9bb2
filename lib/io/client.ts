// One Engine.IO connection <-> its namespace sockets: decode incoming messages, route packets, encode out.
import type { IncomingMessage } from 'node:http';
import { PacketType, type Codec, type Decoder, type Packet } from '../codec/types';
import { JsonDecoder } from '../codec/json-codec';
import type { EngineSocket } from '../engine/session';
import type { RawData } from '../codec/engine-packet';
import type { Logger } from '../logger';
import type { Socket } from './socket';
import type { TrackingEncoder } from './tracking-encoder';
import { sharedTimerWheel, WheelTimer } from '../util/timer-wheel';

/** What the client needs of the io server. */
export interface ClientHost {
  readonly codec: Codec;
  readonly encoder: TrackingEncoder;
  readonly connectTimeout: number;
  /** Recovery on: the sockets keep replay logs, trimmed as the engine confirms what the client has. */
  readonly recovery: { readonly enabled: boolean };
  /** Connects `client` to namespace `name` (created, dynamic or refused). */
  connectToNamespace(client: Client, name: string, auth: Record<string, unknown>): void;
}

type ClientEngine = Pick<EngineSocket, 'id' | 'request' | 'remoteAddress' | 'readyState' | 'log' | 'send' | 'close' | 'transport' | 'on' | 'removeListener'>;

const kClient = Symbol('client');
type TaggedEngine = ClientEngine & { [kClient]?: Client };

/**
 * The Socket.IO side of one Engine.IO connection. Engine events reach it through module-level
 * listeners that find it on the engine socket, so a connection costs no closures.
 */
export class Client {
  readonly conn: EngineSocket;
  readonly id: string;
  /** Sockets by id and by namespace name. */
  readonly sockets = new Map<string, Socket>();
  readonly nsps = new Map<string, Socket>();
  private readonly host: ClientHost;
  private readonly decoder: Decoder;
  private readonly log: Logger;
  /** Namespaces whose CONNECT is being processed (middleware running); undefined when none, so an idle connection keeps no empty Set. */
  private pending: Set<string> | undefined = undefined;
  /** Until the first namespace is joined: an entry of the shared timer wheel, no Node timer of its own. */
  private connectTimer: WheelTimer<Client> | undefined;
  /** Whether onEngineDrain listens to the connection (see watchDrain). */
  private drainWatched = false;

  constructor(host: ClientHost, conn: EngineSocket) {
    this.host = host;
    this.conn = conn;
    this.id = conn.id;
    this.log = conn.log;
    this.decoder = host.codec.createDecoder();
    const onDecoded = (packet: Packet): void => this.onDecoded(packet);
    // the default codec's decoder takes a plain callback: one emit less per packet
    if (this.decoder instanceof JsonDecoder) this.decoder.setReceiver(onDecoded);
    else this.decoder.on('decoded', onDecoded);
    (conn as TaggedEngine)[kClient] = this;
    conn.on('message', onEngineMessage);
    conn.on('close', onEngineClose);
    // listened to only when there are logs to trim: without a listener the engine sends no confirmation pings
    if (host.recovery.enabled) conn.on('confirm', onEngineConfirm);
    this.connectTimer = new WheelTimer<Client>(onConnectTimeout, this);
    sharedTimerWheel(host.connectTimeout).schedule(this.connectTimer, host.connectTimeout);
  }

  /** The handshake request, with the app's decorations (req.session, req.user…). */
  get request(): IncomingMessage {
    return this.conn.request;
  }

  /** @internal an Engine.IO message arrived */
  onData(data: RawData): void {
    try {
      this.decoder.add(data);
    } catch (err) {
      this.onProtocolError('malformed packet', err);
    }
  }

  private onDecoded(packet: Packet): void {
    if (packet.type === PacketType.CONNECT) {
      if (this.nsps.has(packet.nsp) || this.pending?.has(packet.nsp)) {
        this.onProtocolError('second CONNECT for one namespace');
        return;
      }
      (this.pending ??= new Set()).add(packet.nsp);
      this.host.connectToNamespace(this, packet.nsp, (packet.data as Record<string, unknown> | undefined) ?? {});
      return;
    }
    const socket = this.nsps.get(packet.nsp);
    if (!socket) {
      // the official server closes the session for packets outside a connected namespace (PROTOCOL.md §2.6)
      this.onProtocolError(`packet for namespace "${packet.nsp}" before CONNECT`);
      return;
    }
    if (packet.type === PacketType.CONNECT_ERROR) {
      this.onProtocolError('CONNECT_ERROR from the client');
      return;
    }
    socket.onPacket(packet);
  }

  /** `name`'s CONNECT is answered: no longer pending. */
  private settle(name: string): void {
    if (this.pending?.delete(name) && this.pending.size === 0) this.pending = undefined;
  }

  /** @internal the namespace's middleware finished (accepted or refused) */
  connectDone(name: string, socket: Socket | undefined): void {
    this.settle(name);
    if (!socket) return;
    this.sockets.set(socket.id, socket);
    this.nsps.set(name, socket);
    if (this.connectTimer) {
      sharedTimerWheel(this.host.connectTimeout).cancel(this.connectTimer);
      this.connectTimer = undefined;
    }
  }

  /** @internal refuses a CONNECT to a namespace that does not exist */
  refuseNamespace(name: string, message: string, data?: unknown): void {
    this.settle(name);
    const payload: Record<string, unknown> = { message };
    if (data !== undefined) payload.data = data;
    this.sendPacket({ type: PacketType.CONNECT_ERROR, nsp: name, data: payload });
  }

  /** Encodes a packet for this connection alone (no socket yet: a refusal) and writes it. */
  sendPacket(packet: Packet): void {
    if (this.conn.readyState !== 'open') return;
    const meta = this.host.encoder.encodeMeta(packet);
    this.conn.sendPackets(meta.packets, meta.bytes);
  }

  /** @internal the client has every message up to `mark`: the sockets' replay logs forget them */
  onConfirm(mark: number): void {
    for (const socket of this.sockets.values()) socket.client.outbox?.confirm(mark);
  }

  /**
   * A socket waits for room or for flushed(): listen to the connection's 'drain' until it was told.
   * Not listened to otherwise: a WebSocket drains after every write.
   */
  watchDrain(): void {
    if (this.drainWatched || this.conn.readyState === 'closed') return;
    this.drainWatched = true;
    this.conn.on('drain', onEngineDrain);
  }

  /** @internal the connection wrote what it held: the sockets still waiting call watchDrain() again */
  onDrain(): void {
    this.drainWatched = false;
    this.conn.removeListener('drain', onEngineDrain);
    for (const socket of this.sockets.values()) socket.client.onConnectionDrain();
  }

  /** @internal */
  removeSocket(socket: Socket): void {
    if (this.sockets.delete(socket.id)) this.nsps.delete(socket.nsp.name);
  }

  /** Every namespace gets a DISCONNECT, then the connection closes (socket.disconnect(true)). */
  disconnectAll(): void {
    for (const socket of [...this.sockets.values()]) socket.disconnect();
    this.close('forced server close');
  }

  /**
   * Closes the Engine.IO connection; sockets leave with `reason`. `discard`: the transport is known
   * dead (a recovery took its session over), so nothing waits for it to carry a close packet.
   */
  close(reason: string, discard = false): void {
    this.onClose(reason);
    if (this.conn.readyState === 'open') this.conn.close(discard);
  }

  private onProtocolError(what: string, err?: unknown): void {
    const detail = err instanceof Error ? err.message : undefined;
    // one warn line, a counter, WebSocket close 1002 with the code; the sockets leave with 'parse error'
    this.conn.refuse('ERR_BAD_PACKET', 'parse error', { reason: what, detail });
  }

  /** @internal the engine connection is gone */
  onClose(reason: string, description?: unknown): void {
    if (this.connectTimer) {
      sharedTimerWheel(this.host.connectTimeout).cancel(this.connectTimer);
      this.connectTimer = undefined;
    }
    this.conn.removeListener('message', onEngineMessage);
    this.conn.removeListener('close', onEngineClose);
    this.conn.removeListener('confirm', onEngineConfirm);
    this.conn.removeListener('drain', onEngineDrain);
    this.drainWatched = false;
    // each socket either waits for its client (recovery) or leaves with `reason`
    for (const socket of [...this.sockets.values()]) socket.onTransportLost(reason, description);
    this.sockets.clear();
    this.nsps.clear();
    this.decoder.destroy();
  }

  /** @internal no namespace joined within connectTimeout */
  onConnectTimeout(): void {
    this.connectTimer = undefined;
    if (this.nsps.size > 0) return;
    this.log.debug('no namespace joined within connectTimeout');
    this.close('forced close');
  }
}

function onEngineMessage(this: TaggedEngine, data: RawData): void {
  this[kClient]?.onData(data);
}

function onEngineClose(this: TaggedEngine, reason: string, description?: unknown): void {
  this[kClient]?.onClose(reason, description);
}

function onEngineConfirm(this: TaggedEngine, mark: number): void {
  this[kClient]?.onConfirm(mark);
}

function onEngineDrain(this: TaggedEngine): void {
  this[kClient]?.onDrain();
}

function onConnectTimeout(client: Client): void {
  client.onConnectTimeout();
}
