// Compressed polling POST bodies (gzip, deflate, br): inflated under the byte cap, counted on the wire too.
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as zlib from 'node:zlib';
import { answerEmpty } from './http-answers';
import type { PollingOptions } from './polling';

/** What the transport does with a compressed POST's outcome. */
export interface CompressedPostSink {
  /** The whole inflated body arrived (the sink answers the POST). */
  onBody(body: string): void;
  /** The body could not be read (bad compressed data, connection gone): the session's reason and detail. */
  onError(reason: string, detail: string): void;
  /** The POST is over, whichever way: the transport's POST slot is free again. */
  onSettled(): void;
}

/**
 * Reads a POST with a Content-Encoding, measured after decompression while it is read: a bomb stops at
 * the limit. Returns false (after answering 415) for an encoding it cannot inflate.
 */
export function readCompressedPost(req: IncomingMessage, res: ServerResponse, encoding: string, opts: PollingOptions, sink: CompressedPostSink): boolean {
  const inflate = encoding === 'gzip' ? zlib.createGunzip() : encoding === 'deflate' ? zlib.createInflate() : encoding === 'br' ? zlib.createBrotliDecompress() : undefined;
  if (!inflate) {
    opts.onUnsupportedEncoding?.(encoding);
    answerEmpty(res, 415);
    return false;
  }
  const limit = opts.maxHttpBufferSize;
  const source = req.pipe(inflate);
  const chunks: Buffer[] = [];
  let size = 0;
  let compressed = 0;
  let settled = false;
  const refuse = (status: number): void => {
    cleanup();
    inflate.destroy();
    answerEmpty(res, status, { Connection: 'close' });
  };
  // a body trickling in byte by byte (slowloris) must not hold the session's POST slot forever
  const timer = setTimeout(() => {
    opts.onBodyTimeout(opts.bodyTimeout);
    refuse(408);
    req.destroy();
  }, opts.bodyTimeout);
  const onData = (chunk: Buffer): void => {
    size += chunk.length;
    if (size > limit) {
      // refused as soon as the count crosses the limit; `size` is what had arrived by then
      opts.onPayloadTooLarge(size, limit);
      refuse(413);
      return;
    }
    chunks.push(chunk);
  };
  const onCompressedData = (chunk: Buffer): void => {
    compressed += chunk.length;
    // empty deflate blocks inflate to nothing: the bytes on the wire are capped too
    if (compressed > limit && !settled) {
      opts.onPayloadTooLarge(compressed, limit);
      refuse(413);
    }
  };
  const onInflateError = (): void => {
    // stays attached after cleanup: zlib may report an error after the request is done with
    if (settled) return;
    refuse(400);
    sink.onError('parse error', 'bad compressed body');
  };
  const onEnd = (): void => {
    cleanup();
    sink.onBody(Buffer.concat(chunks, size).toString('utf8'));
  };
  const onClose = (): void => {
    // a request read whole closes too (autoDestroy), before the decompressor may be done with its body
    if (req.complete || settled) return;
    cleanup();
    sink.onError('transport error', 'data request connection closed prematurely');
  };
  const cleanup = (): void => {
    settled = true;
    clearTimeout(timer);
    source.removeListener('data', onData);
    source.removeListener('end', onEnd);
    req.removeListener('data', onCompressedData);
    req.removeListener('close', onClose);
    sink.onSettled();
  };
  source.on('data', onData);
  source.on('end', onEnd);
  inflate.on('error', onInflateError);
  req.on('data', onCompressedData);
  req.on('close', onClose);
  return true;
}
