// The Transport contract: send(batch), writable, and the four callbacks it makes to its handler.
import type { EnginePacket } from '../codec/engine-packet';
import type { ErrorCode } from '../errors';
import type { TransportName } from '../options';

/** Who a transport reports to: the session, or the session's upgrade probe while a WebSocket is on trial. */
export interface TransportHandler {
  /** A packet decoded from the peer. */
  onTransportPacket(transport: Transport, packet: EnginePacket): void;
  /** The transport can take a write now (a GET arrived, a WebSocket drained). */
  onTransportReady(transport: Transport): void;
  /** A WebSocket control frame (ping/pong) arrived; false = over budget, ignore it. */
  onControlFrame?(transport: Transport, bytes: number): boolean;
  /**
   * The peer broke the protocol or the connection; the session decides what that ends. With `code`, the
   * peer's fault is a refusal: logged and counted under that code.
   */
  onTransportError(transport: Transport, reason: string, detail?: string, code?: ErrorCode): void;
  /** The transport is gone. */
  onTransportClose(transport: Transport): void;
}

/** A handler that ignores everything: what a transport reports to once its session let go of it. */
export const noopHandler: TransportHandler = {
  onTransportPacket() {},
  onTransportReady() {},
  onTransportError() {},
  onTransportClose() {},
};

/** One way of carrying Engine.IO packets: long-polling, JSONP polling or WebSocket. */
export abstract class Transport {
  abstract readonly name: TransportName;
  /** Whether send() may be called now (polling: a GET is held; WebSocket: not backed up). */
  writable = false;
  /** Set once the session moved to another transport: close without ceremony. */
  discarded = false;
  /** Set by close(): the transport reports nothing more. */
  closed = false;
  /** Binary messages may go out as binary (WebSocket without b64); otherwise `b` + base64. */
  abstract readonly supportsBinary: boolean;
  handler: TransportHandler = noopHandler;

  /** Bytes written to the transport that it still holds (WebSocket: ws's bufferedAmount). */
  get bufferedBytes(): number {
    return 0;
  }

  /** Writes a batch of packets; only called while `writable`. */
  abstract send(packets: readonly EnginePacket[]): void;
  /**
   * Ends the transport; `onClose` runs once it is done (polling may wait for the next GET). A WebSocket
   * sends `code` and `reason` in its close frame (none by default, as the official server).
   */
  abstract close(onClose?: () => void, code?: number, reason?: string): void;

  discard(): void {
    this.discarded = true;
  }

  /** Called by subclasses when their connection is gone: report once, then go quiet. */
  protected reportClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.writable = false;
    const { handler } = this;
    this.handler = noopHandler;
    handler.onTransportClose(this);
  }
}
