// Long-polling: one held GET carries packets out, POST bodies (read under a byte cap) carry them in.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import * as zlib from 'node:zlib';
import {
  decodeTextPacket,
  encodePayload,
  EnginePacketType,
  RECORD_SEPARATOR,
  type EnginePacket,
} from '../codec/engine-packet';
import { answerEmpty, withAnswerHeaders } from './http-answers';
import { readCompressedPost } from './polling-compressed';
import { Transport } from './transport';

export interface PollingOptions {
  readonly maxHttpBufferSize: number;
  /** Compress GET answers from this many bytes on; undefined turns compression off. */
  readonly compressionThreshold: number | undefined;
  /** Called when a POST body is refused for its size (for the log line): declared or received bytes. */
  readonly onPayloadTooLarge: (size: number, limit: number) => void;
  /** ms a POST body may take to arrive. */
  readonly bodyTimeout: number;
  /** Called when a POST body did not arrive in time (for the log line). */
  readonly onBodyTimeout: (timeout: number) => void;
  /** Called when a POST comes with a Content-Encoding we cannot inflate (for the log line). */
  readonly onUnsupportedEncoding?: (encoding: string) => void;
  /**
   * ms a server-side close waits for the client's next GET to carry the close packet (official: 30 s);
   * the server passes pingTimeout when shorter, the wait the heartbeat gives a client that does not poll.
   */
  readonly closeTimeout: number;
}

const NO_STORE = 'no-store';

/** XHR long-polling (text payloads only in Engine.IO v4: binary travels as `b` + base64). */
export class PollingTransport extends Transport {
  readonly name = 'polling' as const;
  readonly supportsBinary = false;
  private getReq: IncomingMessage | undefined;
  private getRes: ServerResponse | undefined;
  private postReq: IncomingMessage | undefined;
  // the POST being read (identity encoding): its answer, its first chunk, the rest, bytes so far, start
  private postRes: ServerResponse | undefined;
  private postChunk: Buffer | undefined;
  private postChunks: Buffer[] | undefined;
  private postSize = 0;
  private postStartedAt = 0;
  /** The body deadline's timer: one per transport, re-armed by onBodyDeadline() only while a POST is read. */
  private bodyTimer: NodeJS.Timeout | undefined;
  private pendingClose: (() => void) | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  protected readonly opts: PollingOptions;

  constructor(opts: PollingOptions) {
    super();
    this.opts = opts;
  }

  /** Takes one HTTP request of this session (GET or POST; the server filtered other methods). */
  onRequest(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET') this.onPollRequest(req, res);
    else this.onDataRequest(req, res);
  }

  private onPollRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.getReq) {
      // Second GET while one is held: the official server answers 400 and closes the session.
      answerEmpty(res, 400);
      this.handler.onTransportError(this, 'transport error', 'overlap from client', 'ERR_TRANSPORT_OVERLAP');
      return;
    }
    this.getReq = req;
    this.getRes = res;
    (req as TaggedRequest)[kTransport] = this;
    req.on('close', onPollClosed);
    this.writable = true;
    this.handler.onTransportReady(this);
    // a close was asked for while no GET was held: this GET carries it (noop + close)
    if (this.writable && this.pendingClose) this.send([{ type: EnginePacketType.NOOP }]);
  }

  /** Called when a held GET's connection goes away before we answered it. */
  onPollAborted(req: IncomingMessage): void {
    if (req !== this.getReq) return;
    this.releaseGet();
    this.handler.onTransportError(this, 'transport error', 'poll connection closed prematurely');
  }

  private releaseGet(): void {
    this.getReq?.removeListener('close', onPollClosed);
    this.getReq = undefined;
    this.getRes = undefined;
    this.writable = false;
  }

  private onDataRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.postReq) {
      answerEmpty(res, 400);
      this.postReq.destroy();
      this.handler.onTransportError(this, 'transport error', 'data request overlap from client', 'ERR_TRANSPORT_OVERLAP');
      return;
    }
    // v4 polling is text-only, JSONP too: octet-stream is the v3 binary framing, refused with 400 (PROTOCOL.md §7.1)
    if (req.headers['content-type'] === 'application/octet-stream') {
      // answered and ended at once: a request left open here would hold its connection (engine.io CVE-2026-59725)
      answerEmpty(res, 400, { Connection: 'close' });
      this.handler.onTransportError(this, 'transport error', 'invalid content', 'ERR_BAD_REQUEST');
      return;
    }
    const limit = this.opts.maxHttpBufferSize;
    const declared = Number(req.headers['content-length']);
    if (declared > limit) {
      // refused on the declared length, before reading a byte of it
      this.opts.onPayloadTooLarge(declared, limit);
      answerEmpty(res, 413, { Connection: 'close' });
      return;
    }
    if (req.readableEnded) {
      // a body parser mounted before us (express.text(), express.urlencoded()) already read the body
      this.onParsedBody(req, res);
      return;
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      this.readCompressed(req, res, encoding.toLowerCase());
      return;
    }
    // the common case, once per POST: listeners are module functions reaching us through the request,
    // and the body deadline is one timer per transport, re-armed only when it fires (issue 8)
    this.postReq = req;
    this.postRes = res;
    this.postSize = 0;
    this.postStartedAt = performance.now();
    (req as TaggedRequest)[kTransport] = this;
    req.on('data', onPostData);
    req.on('end', onPostEnd);
    req.on('close', onPostClosed);
    if (this.bodyTimer === undefined) this.bodyTimer = setTimeout(onBodyTimer, this.opts.bodyTimeout, this).unref();
  }

  /** A chunk of the POST being read; past the byte cap the POST is refused as soon as the count crosses it. */
  onPostChunk(req: IncomingMessage, chunk: Buffer): void {
    if (req !== this.postReq) return;
    this.postSize += chunk.length;
    if (this.postSize > this.opts.maxHttpBufferSize) {
      // `size` is what had arrived by then
      this.opts.onPayloadTooLarge(this.postSize, this.opts.maxHttpBufferSize);
      this.refusePost(413);
      return;
    }
    if (this.postChunk === undefined) this.postChunk = chunk;
    else (this.postChunks ??= [this.postChunk]).push(chunk);
  }

  onPostEnd(req: IncomingMessage): void {
    if (req !== this.postReq) return;
    const res = this.postRes as ServerResponse;
    const body = this.postChunks ? Buffer.concat(this.postChunks, this.postSize).toString('utf8') : (this.postChunk?.toString('utf8') ?? '');
    this.releasePost();
    this.onBody(body);
    answerOk(res);
  }

  onPostClosed(req: IncomingMessage): void {
    // a request read whole closes too (autoDestroy), after its 'end'
    if (req !== this.postReq || req.complete) return;
    this.releasePost();
    this.handler.onTransportError(this, 'transport error', 'data request connection closed prematurely');
  }

  /** The body timer fired: a POST still reading since bodyTimeout is refused; a newer one waits its turn. */
  onBodyDeadline(): void {
    this.bodyTimer = undefined;
    const req = this.postReq;
    if (req === undefined || this.closed) return;
    const left = this.opts.bodyTimeout - (performance.now() - this.postStartedAt);
    if (left > 1) {
      this.bodyTimer = setTimeout(onBodyTimer, left, this).unref();
      return;
    }
    // a body trickling in byte by byte (slowloris) must not hold the session's POST slot forever
    this.opts.onBodyTimeout(this.opts.bodyTimeout);
    this.refusePost(408);
    req.destroy();
  }

  private refusePost(status: number): void {
    const res = this.postRes as ServerResponse;
    this.releasePost();
    answerEmpty(res, status, { Connection: 'close' });
  }

  private releasePost(): void {
    this.postReq = undefined;
    this.postRes = undefined;
    this.postChunk = undefined;
    this.postChunks = undefined;
  }

  /** A compressed POST (rare: engine.io-client never compresses), read by polling-compressed.ts. */
  private readCompressed(req: IncomingMessage, res: ServerResponse, encoding: string): void {
    this.postReq = req;
    const started = readCompressedPost(req, res, encoding, this.opts, {
      onBody: (body) => {
        this.onBody(body);
        answerOk(res);
      },
      onError: (reason, detail) => this.handler.onTransportError(this, reason, detail),
      onSettled: () => {
        if (this.postReq === req) this.postReq = undefined;
      },
    });
    if (!started && this.postReq === req) this.postReq = undefined;
  }

  /** A POST whose stream an app's body parser consumed: take its `req.body`, or refuse it. */
  private onParsedBody(req: IncomingMessage, res: ServerResponse): void {
    const body = this.bodyFromParser((req as IncomingMessage & { body?: unknown }).body);
    if (body === undefined) {
      answerEmpty(res, 400);
      this.handler.onTransportError(this, 'transport error', 'body already consumed by another middleware');
      return;
    }
    if (Buffer.byteLength(body) > this.opts.maxHttpBufferSize) {
      this.opts.onPayloadTooLarge(Buffer.byteLength(body), this.opts.maxHttpBufferSize);
      answerEmpty(res, 413, { Connection: 'close' });
      return;
    }
    this.onBody(body);
    answerOk(res);
  }

  /** The raw payload back from what a body parser left in req.body (JSONP overrides for `d=`). */
  protected bodyFromParser(parsed: unknown): string | undefined {
    if (typeof parsed === 'string') return parsed;
    if (Buffer.isBuffer(parsed)) return parsed.toString('utf8');
    return undefined;
  }

  /** Decodes a POST body and hands its packets on; JSONP unwraps its form body first. */
  protected onBody(body: string): void {
    // one packet at a time (no array of parts): a separator storm costs nothing past its first bad part
    for (let start = 0, end = 0; end !== -1; start = end + 1) {
      // a refusal mid-body (rate limit, bad packet) closes us: the rest of a large body is not decoded
      if (this.closed || this.pendingClose) return;
      end = body.indexOf(RECORD_SEPARATOR, start);
      const packet = decodeTextPacket(end === -1 ? body.slice(start) : body.slice(start, end));
      if (!packet) {
        // the packets before the bad one are delivered, as by engine.io-parser's decodePayload
        this.handler.onTransportError(this, 'parse error');
        return;
      }
      if (packet.type === EnginePacketType.CLOSE) {
        // the client said goodbye: release a held GET with a noop, then we are done
        if (this.writable) this.send([{ type: EnginePacketType.NOOP }]);
        this.reportClose();
        return;
      }
      this.handler.onTransportPacket(this, packet);
    }
  }

  send(packets: readonly EnginePacket[]): void {
    const res = this.getRes;
    const req = this.getReq;
    if (!res || !req) return;
    let out = packets;
    const onClosed = this.pendingClose;
    if (onClosed) out = [...packets, { type: EnginePacketType.CLOSE }];
    this.releaseGet();
    this.writePayload(req, res, this.formatPayload(encodePayload(out)));
    if (onClosed) {
      this.pendingClose = undefined;
      onClosed();
    }
  }

  /** The body of a GET answer; JSONP wraps it in its callback. */
  protected formatPayload(payload: string): string {
    return payload;
  }

  private writePayload(req: IncomingMessage, res: ServerResponse, body: string): void {
    const headers: OutgoingHttpHeaders = { 'Content-Type': 'text/plain; charset=UTF-8', 'cache-control': NO_STORE };
    const length = Buffer.byteLength(body);
    const threshold = this.opts.compressionThreshold;
    const encoding = threshold !== undefined && length >= threshold ? pickEncoding(req.headers['accept-encoding']) : undefined;
    if (!encoding) {
      headers['Content-Length'] = String(length);
      res.writeHead(200, withAnswerHeaders(res, headers));
      res.end(body);
      return;
    }
    headers['Content-Encoding'] = encoding;
    res.writeHead(200, withAnswerHeaders(res, headers));
    const compress = encoding === 'gzip' ? zlib.gzip : zlib.deflate;
    compress(body, (err, compressed) => {
      if (err) res.destroy();
      else res.end(compressed);
    });
  }

  close(onClose?: () => void): void {
    clearTimeout(this.bodyTimer);
    this.bodyTimer = undefined;
    const done = (): void => {
      clearTimeout(this.closeTimer);
      this.closeTimer = undefined;
      onClose?.();
      this.reportClose();
    };
    this.postReq?.destroy();
    if (this.writable) {
      this.send([{ type: EnginePacketType.CLOSE }]);
      done();
    } else if (this.discarded || this.closed) {
      done();
    } else {
      // no GET held: the next one carries the close (`6\x1e1`), or we give up waiting
      this.pendingClose = done;
      this.closeTimer = setTimeout(done, this.opts.closeTimeout);
      this.closeTimer.unref();
    }
  }
}

/** The GET request's transport, found through a field so the listener is one shared function. */
const kTransport = Symbol('pollingTransport');
interface TaggedRequest extends IncomingMessage {
  [kTransport]?: PollingTransport;
}

function onPollClosed(this: TaggedRequest): void {
  this[kTransport]?.onPollAborted(this);
}

function onPostData(this: TaggedRequest, chunk: Buffer): void {
  this[kTransport]?.onPostChunk(this, chunk);
}

function onPostEnd(this: TaggedRequest): void {
  this[kTransport]?.onPostEnd(this);
}

function onPostClosed(this: TaggedRequest): void {
  this[kTransport]?.onPostClosed(this);
}

function onBodyTimer(transport: PollingTransport): void {
  transport.onBodyDeadline();
}

function answerOk(res: ServerResponse): void {
  res.writeHead(200, withAnswerHeaders(res, { 'Content-Type': 'text/html', 'Content-Length': '2', 'cache-control': NO_STORE }));
  res.end('ok');
}

function pickEncoding(header: string | string[] | undefined): 'gzip' | 'deflate' | undefined {
  if (typeof header !== 'string') return undefined;
  let deflate = false;
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    if (params.some((p) => /^\s*q=0(\.0*)?\s*$/.test(p))) continue;
    if (name === 'gzip' || name === '*') return 'gzip';
    if (name === 'deflate') deflate = true;
  }
  return deflate ? 'deflate' : undefined;
}
