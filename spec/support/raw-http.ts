// Raw HTTP and raw upgrade requests, to see exactly what the server put on the wire.
import * as http from 'node:http';
import * as net from 'node:net';
import { within } from './wait';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with an agent of its own (no keep-alive reuse between tests). */
export function request(
  url: string,
  opts: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; localAddress?: string } = {},
): Promise<RawResponse> {
  return within(
    new Promise<RawResponse>((resolve, reject) => {
      const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers, agent: false, localAddress: opts.localAddress }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(opts.body);
    }),
    5000,
    `${opts.method ?? 'GET'} ${url}`,
  );
}

/** Opens a polling session: returns the sid and the handshake fields. */
export async function handshake(base: string, query = ''): Promise<{ sid: string; open: Record<string, unknown> }> {
  const res = await request(`${base}?EIO=4&transport=polling${query}`);
  if (res.status !== 200 || !res.body.startsWith('0')) throw new Error(`handshake failed: ${res.status} ${res.body}`);
  const open = JSON.parse(res.body.slice(1)) as Record<string, unknown>;
  return { sid: open.sid as string, open };
}

/** Sends raw bytes on a fresh TCP connection and returns everything the server wrote until it closed. */
export function rawExchange(port: number, text: string, ms = 3000, host = '127.0.0.1'): Promise<string> {
  return within(
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, host, () => socket.write(text));
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.on('error', reject);
    }),
    ms,
    'raw exchange',
  );
}

/** An upgrade request's head: the headers a WebSocket client sends. */
export function upgradeRequest(path: string, extra: Record<string, string> = {}): string {
  const headers: Record<string, string> = {
    Host: '127.0.0.1',
    Connection: 'Upgrade',
    Upgrade: 'websocket',
    'Sec-WebSocket-Version': '13',
    'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    ...extra,
  };
  return `GET ${path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
}
