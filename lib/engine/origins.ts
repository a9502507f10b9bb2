// The `origins` allow-list: which Origin headers may talk to us, and the CORS answers for polling.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SocketIOError } from '../errors';

interface OriginPattern {
  /** `http:`, `https:`…; '' when the pattern names none (then any scheme matches). */
  readonly scheme: string;
  /** Host name; a leading `*.` matches any subdomain. */
  readonly host: string;
  /** Port as written, '*' for any, '' for the scheme's default. */
  readonly port: string;
}

const DEFAULT_PORTS: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };
// [scheme://][*.]host[:port|:*][/], host a name, an IPv6 literal in brackets, or '*'
const PATTERN = /^(?:([a-z][a-z0-9+.-]*:)\/\/)?(\*\.)?(\[[0-9a-f:.]+\]|[^:/*[\]\s]+|\*)(?::(\d+|\*))?\/?$/i;

function parsePattern(text: string): OriginPattern | undefined {
  const m = PATTERN.exec(text.trim());
  if (!m) return undefined;
  const scheme = (m[1] ?? '').toLowerCase();
  const port = m[4] ?? '';
  return { scheme, host: ((m[2] ?? '') + m[3]).toLowerCase(), port: port === DEFAULT_PORTS[scheme] ? '' : port };
}

/** Throws ERR_INVALID_OPTION naming the first entry of `origins` that is no origin pattern. */
function parsePatterns(origins: readonly string[]): OriginPattern[] {
  return origins.map((text) => {
    const pattern = parsePattern(text);
    if (!pattern) throw new SocketIOError('ERR_INVALID_OPTION', 'origins', "'*' or origins like 'https://app.example', 'http://localhost:*'", JSON.stringify(text));
    return pattern;
  });
}

function parseOrigin(origin: string): { scheme: string; host: string; port: string } | undefined {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return undefined;
  }
  if (url.origin === 'null') return undefined;
  return { scheme: url.protocol, host: url.hostname.toLowerCase(), port: url.port };
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return host.endsWith(pattern.slice(1));
  return pattern === host;
}

/** What the policy decided for one request. */
export const OriginVerdict = {
  /** No Origin header: not a browser's cross-site request. */
  NONE: 'none',
  SAME: 'same',
  /** Cross-origin and on the list: answer with CORS headers. */
  ALLOWED: 'allowed',
  REFUSED: 'refused',
} as const;
export type OriginVerdict = (typeof OriginVerdict)[keyof typeof OriginVerdict];

/** Decides on the Origin of every request and upgrade, not only the handshake. */
export class OriginPolicy {
  private readonly any: boolean;
  private readonly patterns: readonly OriginPattern[];

  constructor(origins: readonly string[] | '*') {
    this.any = origins === '*' || origins.includes('*');
    this.patterns = origins === '*' ? [] : parsePatterns(origins);
  }

  check(req: IncomingMessage): OriginVerdict {
    const origin = req.headers.origin;
    if (origin === undefined) return OriginVerdict.NONE;
    const parsed = parseOrigin(origin);
    if (parsed && isSameOrigin(parsed, req)) return OriginVerdict.SAME;
    if (this.any) return OriginVerdict.ALLOWED;
    if (!parsed) return OriginVerdict.REFUSED;
    for (const p of this.patterns) {
      if ((p.scheme && p.scheme !== parsed.scheme) || !hostMatches(p.host, parsed.host)) continue;
      if (p.port === '*' || p.port === parsed.port) return OriginVerdict.ALLOWED;
    }
    return OriginVerdict.REFUSED;
  }
}

/** Same host and port as the Host header (the scheme is left out: a TLS-terminating proxy hides it). */
function isSameOrigin(origin: { scheme: string; host: string; port: string }, req: IncomingMessage): boolean {
  const hostHeader = req.headers.host;
  if (!hostHeader) return false;
  let host: URL;
  try {
    host = new URL(`${origin.scheme}//${hostHeader}`);
  } catch {
    return false;
  }
  return host.hostname.toLowerCase() === origin.host && host.port === origin.port;
}

/** CORS headers on a polling answer; `Vary: Origin` whenever the answer depends on the Origin. */
export function setCorsHeaders(req: IncomingMessage, res: ServerResponse, verdict: OriginVerdict): void {
  if (verdict === OriginVerdict.NONE) return;
  appendVary(res, 'Origin');
  if (verdict !== OriginVerdict.ALLOWED) return;
  res.setHeader('Access-Control-Allow-Origin', req.headers.origin as string);
  res.setHeader('Access-Control-Allow-Credentials', 'true');
}

/** Answers the preflight of an allowed origin (CORS headers already set): 204, our methods, the asked headers. */
export function answerPreflight(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Methods', 'GET,POST,OPTIONS');
  const asked = req.headers['access-control-request-headers'];
  if (asked) {
    res.setHeader('Access-Control-Allow-Headers', asked);
    appendVary(res, 'Access-Control-Request-Headers');
  }
  res.statusCode = 204;
  res.setHeader('Content-Length', '0');
  res.end();
}

function appendVary(res: ServerResponse, field: string): void {
  const current = res.getHeader('Vary');
  if (current === undefined) {
    res.setHeader('Vary', field);
    return;
  }
  const list = String(current);
  if (list === '*' || list.split(',').some((f) => f.trim().toLowerCase() === field.toLowerCase())) return;
  res.setHeader('Vary', `${list}, ${field}`);
}
