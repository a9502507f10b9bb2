// An app started the way apps start (app.listen), and one raw HTTP response read off a TCP socket.
import type * as http from 'node:http';
import * as net from 'node:net';
import type { TestContext } from 'node:test';
import { closedAfter, type Running } from './server';
import { within } from './wait';

/** `app.listen(0, '127.0.0.1')`: a server with no `upgrade` listener; every connection is destroyed after the test. */
export async function appListen(t: TestContext, app: { listen(port: number, host: string, cb: () => void): http.Server }): Promise<Running> {
  let server!: http.Server;
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', resolve);
  });
  return closedAfter(t, server);
}

export interface RawHttpResponse {
  status: number;
  /** Header names lower-cased; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** The header lines as sent, names as the server wrote them. */
  headerLines: string[];
  body: string;
}

/**
 * Writes `text` on a fresh TCP connection and parses the one response that comes back. Resolves as
 * soon as it is complete (head, then Content-Length bytes; nothing after a 101), so a server that
 * keeps the connection alive does not hold the test (rawExchange waits for the close instead).
 */
export function readResponse(port: number, text: string, ms = 3000): Promise<RawHttpResponse> {
  return within(
    new Promise<RawHttpResponse>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
      let buffer = Buffer.alloc(0);
      let closed = false;
      const tryParse = (): RawHttpResponse | undefined => {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return undefined;
        const [statusLine, ...headerLines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
        const status = Number(statusLine.split(' ')[1]);
        const headers: Record<string, string> = {};
        for (const line of headerLines) {
          const colon = line.indexOf(':');
          const name = line.slice(0, colon).trim().toLowerCase();
          const value = line.slice(colon + 1).trim();
          headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
        }
        const rest = buffer.subarray(end + 4);
        if (status === 101) return { status, headers, headerLines, body: '' };
        const length = headers['content-length'];
        if (length !== undefined && rest.length >= Number(length)) {
          return { status, headers, headerLines, body: rest.subarray(0, Number(length)).toString('utf8') };
        }
        if (length === undefined && closed) return { status, headers, headerLines, body: rest.toString('utf8') };
        return undefined;
      };
      const check = (): void => {
        const parsed = tryParse();
        if (!parsed) {
          if (closed) reject(new Error(`connection closed before a whole response: ${JSON.stringify(buffer.toString('latin1'))}`));
          return;
        }
        socket.destroy();
        resolve(parsed);
      };
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        check();
      });
      socket.on('end', () => {
        closed = true;
        check();
      });
      socket.on('close', () => {
        closed = true;
        check();
      });
      socket.on('error', reject);
    }),
    ms,
    'raw response',
  );
}
