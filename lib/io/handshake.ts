// socket.handshake: the same shape as socket.io's, built on first use (an idle socket keeps none).
import type { IncomingMessage } from 'node:http';

/** What the client's handshake told the server (socket.io's `Handshake`). */
export interface Handshake {
  headers: IncomingMessage['headers'];
  /** Date of the handshake, as a string. */
  time: string;
  /** Client address (through Express's `trust proxy` when mounted in Express). */
  address: string;
  /** Whether the request came with an Origin (cross-domain in socket.io's words). */
  xdomain: boolean;
  secure: boolean;
  /** Date of the handshake, ms since epoch. */
  issued: number;
  url: string;
  query: Record<string, string | string[]>;
  /** The CONNECT packet's payload. */
  auth: Record<string, unknown>;
}

/** Query string as an object, repeated keys as arrays (like Node's querystring.parse). */
export function parseQuery(url: string): Record<string, string | string[]> {
  const q = url.indexOf('?');
  const query: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  if (q === -1) return query;
  for (const [key, value] of new URLSearchParams(url.slice(q + 1))) {
    const current = query[key];
    if (current === undefined) query[key] = value;
    else if (Array.isArray(current)) current.push(value);
    else query[key] = [current, value];
  }
  return query;
}

/**
 * The handshake of a socket that connected at `issued` (ms since epoch): a plain object, as adapters
 * serialise it for fetchSockets(). Built when the app first reads it; the time string and the parsed
 * query are most of its cost, and most sockets are never asked.
 */
export function buildHandshake(req: IncomingMessage, address: string, auth: Record<string, unknown>, issued = Date.now()): Handshake {
  const url = (req as { originalUrl?: string }).originalUrl ?? req.url ?? '/';
  return {
    headers: req.headers,
    time: new Date(issued).toString(),
    address,
    xdomain: req.headers.origin !== undefined,
    secure: Boolean((req.socket as { encrypted?: boolean } | null)?.encrypted),
    issued,
    url,
    query: parseQuery(url),
    auth,
  };
}
