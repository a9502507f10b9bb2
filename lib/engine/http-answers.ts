// The exact bytes the official server answers with: Engine.IO JSON errors, raw upgrade refusals.
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ENGINE_ERROR_MESSAGES, type EngineErrorCode } from '../errors';

/** Polling error answer: status, `Content-Type: application/json`, chunked `{"code":N,"message":"..."}`. */
export function answerEngineError(
  res: ServerResponse,
  code: EngineErrorCode,
  message = ENGINE_ERROR_MESSAGES[code],
  status: number = code === 4 ? 403 : 400,
): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ code, message }));
}

/** An empty answer with only a status, as the official server gives for overlapping polls. */
export function answerEmpty(res: ServerResponse, status: number, headers?: Record<string, string>): void {
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  res.writeHead(status, headers);
  res.end();
}

const STATUS_LINES: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 429: 'Too Many Requests', 503: 'Service Unavailable' };

/**
 * Refuses a WebSocket upgrade on the raw socket, byte for byte like engine.io's abortUpgrade
 * (status 400 whatever the code; 403 only for our origin refusals), then destroys the socket.
 */
export function abortUpgrade(socket: Duplex, message: string, status = 400): void {
  socket.on('error', ignoreError);
  if (socket.writable) {
    const length = Buffer.byteLength(message);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_LINES[status] ?? 'Bad Request'}\r\n` +
        'Connection: close\r\n' +
        'Content-type: text/html\r\n' +
        `Content-Length: ${length}\r\n` +
        '\r\n' +
        message,
    );
  }
  socket.destroy();
}

function ignoreError(): void {
  // the peer is being turned away; its socket errors are of no interest
}
