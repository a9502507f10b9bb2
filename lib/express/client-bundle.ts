// Serves socket.io-client's browser builds at <mount><path>socket.io.js (and variants), aware of the mount.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Logger } from '../logger';

const gzip = promisify(gzipCallback);

/** The files of socket.io-client's dist/ that are served, as socket.io's serveClient serves them. */
export const CLIENT_FILES: ReadonlySet<string> = new Set([
  'socket.io.js',
  'socket.io.js.map',
  'socket.io.min.js',
  'socket.io.min.js.map',
  'socket.io.esm.min.js',
  'socket.io.esm.min.js.map',
  'socket.io.msgpack.min.js',
  'socket.io.msgpack.min.js.map',
]);

/** The path socket.io-client connects to when the caller gives no `path` (the client adds the slash). */
const CLIENT_DEFAULT_PATH = '/socket.io/';
/** Bundles patched for a mount path are kept per (file, path); mounts with parameters make that open-ended. */
const MAX_CACHED = 32;
/** Answers below this size are not worth compressing (the .map and .js files are all far above it). */
const GZIP_THRESHOLD = 1024;

/**
 * The name of the client file a request asks for (`socket.io.min.js`, …), or undefined when the request
 * is not a plain GET/HEAD (no upgrade) of exactly `<path><file>` (a query string is allowed, as a cache buster).
 */
export function clientFileOf(req: IncomingMessage, path: string): string | undefined {
  if ((req.method !== 'GET' && req.method !== 'HEAD') || req.headers.upgrade !== undefined) return undefined;
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const pathname = q === -1 ? url : url.slice(0, q);
  if (!pathname.startsWith(path)) return undefined;
  const name = pathname.slice(path.length);
  return CLIENT_FILES.has(name) ? name : undefined;
}

interface ClientPackage {
  /** Absolute path of the package's dist/ folder. */
  dist: string;
  version: string;
}

/** Finds socket.io-client next to this package (its exports map hides dist/*.min.js, so by package.json). */
function resolveClientPackage(): ClientPackage | undefined {
  try {
    const manifest = require.resolve('socket.io-client/package.json');
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- a JSON file found at run time
    const { version } = require(manifest) as { version?: unknown };
    return { dist: join(dirname(manifest), 'dist'), version: typeof version === 'string' ? version : '0' };
  } catch {
    return undefined;
  }
}

/** What one request gets: the bytes, their validator, and a gzip of them made on first demand. */
interface Entry {
  body: Buffer;
  etag: string;
  gzipped?: Promise<Buffer>;
}

/** Serves the client files; built once per middleware when `serveClient` is on. */
export interface ClientBundle {
  /** Answers a GET/HEAD of `file` (a name from clientFileOf), served under `resourcePath`. */
  serve(req: IncomingMessage, res: ServerResponse, file: string, resourcePath: string): void;
}

/**
 * Resolves socket.io-client now, so a missing package is reported at start-up (one `warn` line) rather
 * than on the first request; its files are read on first request and kept in memory.
 */
export function createClientBundle(log: Logger, path: string): ClientBundle {
  const pkg = resolveClientPackage();
  if (!pkg) {
    log.warn(
      { code: 'MODULE_NOT_FOUND', module: 'socket.io-client' },
      `serveClient: socket.io-client is not installed, so ${path}socket.io.js answers 404 (npm install socket.io-client, or set serveClient: false)`,
    );
    return { serve: answerMissing };
  }
  const entries = new Map<string, Promise<Entry>>();

  const entryFor = (file: string, resourcePath: string): Promise<Entry> => {
    const patched = !file.endsWith('.map') && resourcePath !== CLIENT_DEFAULT_PATH;
    const key = patched ? `${file}\n${resourcePath}` : file;
    let entry = entries.get(key);
    if (entry) {
      // least recently used goes first: move this one to the end
      entries.delete(key);
      entries.set(key, entry);
      return entry;
    }
    entry = loadEntry(pkg, file, patched ? resourcePath : undefined);
    entry.catch(() => entries.delete(key));
    entries.set(key, entry);
    if (entries.size > MAX_CACHED) entries.delete(entries.keys().next().value as string);
    return entry;
  };

  return {
    serve(req, res, file, resourcePath) {
      entryFor(file, resourcePath).then(
        (entry) => sendEntry(req, res, file, entry),
        (err: NodeJS.ErrnoException) => {
          log.warn({ code: err.code ?? 'ERR_CLIENT_FILE', file }, 'cannot read the socket.io-client file');
          answerMissing(req, res);
        },
      );
    },
  };
}

async function loadEntry(pkg: ClientPackage, file: string, mountPath: string | undefined): Promise<Entry> {
  const original = await readFile(join(pkg.dist, file));
  if (mountPath === undefined) return { body: original, etag: `"${pkg.version}"` };
  const body = Buffer.from(patchForMount(original.toString('utf8'), file, mountPath), 'utf8');
  const digest = createHash('sha1').update(body).digest('base64url').slice(0, 16);
  return { body, etag: `"${pkg.version}-${digest}"` };
}

/**
 * `function (lookup, path)` returning an `io` that defaults `path` to the mount's when the caller gives
 * none, with lookup's properties (Manager, Socket, protocol, …). ES5, like the UMD bundles.
 */
const WRAP_LOOKUP =
  'function(lookup,path){' +
  'function io(uri,opts){' +
  'if(typeof uri==="object"&&uri!==null){opts=uri;uri=undefined;}' +
  'if(!opts||opts.path==null){var o={};for(var k in opts)o[k]=opts[k];o.path=path;opts=o;}' +
  'return lookup(uri,opts);}' +
  'for(var p in lookup)io[p]=lookup[p];' +
  'io.io=io.connect=io;return io;}';

/** A JS string literal safe anywhere, even inlined in HTML (`<`, U+2028/2029 escaped). */
function jsString(value: string): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const SOURCE_MAP_COMMENT = /\n\/\/# sourceMappingURL=[^\n]*\s*$/;
const ESM_EXPORTS = /export\s*\{([^}]*)\}\s*;?(\s*\/\/# sourceMappingURL=[^\n]*)?\s*$/;

/**
 * Adds the mount-aware `io` to a bundle. The code goes after the original code (right before its
 * sourceMappingURL comment), so every original line and column stays where the .map file says it is.
 */
export function patchForMount(source: string, file: string, mountPath: string): string {
  const path = jsString(mountPath);
  if (file === 'socket.io.esm.min.js') {
    const m = ESM_EXPORTS.exec(source);
    if (!m) return source;
    const specs = m[1].split(',').map((s) => s.trim().split(/\s+as\s+/));
    const ioSpec = specs.find((s) => (s[1] ?? s[0]) === 'io');
    if (!ioSpec) return source;
    const local = ioSpec[0];
    const renamed = specs.map(([name, as = name]) =>
      name === local && (as === 'io' || as === 'connect' || as === 'default') ? `__mountedIo as ${as}` : `${name} as ${as}`,
    );
    return `${source.slice(0, m.index)}const __mountedIo=(${WRAP_LOOKUP})(${local},${path});export{${renamed.join(',')}};${m[2] ?? ''}\n`;
  }
  const snippet =
    `\n;(function(g){if(typeof g.io==="function")g.io=(${WRAP_LOOKUP})(g.io,${path});})` +
    '(typeof globalThis!=="undefined"?globalThis:self);';
  const m = SOURCE_MAP_COMMENT.exec(source);
  return m ? `${source.slice(0, m.index)}${snippet}${source.slice(m.index)}` : `${source}${snippet}\n`;
}

/** True when an If-None-Match header names `etag` (weak comparison, RFC 9110 §13.1.2), or is `*`. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}

/** True when Accept-Encoding allows gzip (a `gzip` or `*` token without `q=0`). */
function acceptsGzip(header: string | string[] | undefined): boolean {
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function sendEntry(req: IncomingMessage, res: ServerResponse, file: string, entry: Entry): void {
  res.setHeader('Cache-Control', 'public, max-age=0');
  res.setHeader('ETag', entry.etag);
  res.setHeader('Vary', 'Accept-Encoding');
  if (matchesEtag(req.headers['if-none-match'], entry.etag)) {
    res.statusCode = 304;
    res.end();
    return;
  }
  res.setHeader('Content-Type', `application/${file.endsWith('.map') ? 'json' : 'javascript'}; charset=utf-8`);
  if (entry.body.length < GZIP_THRESHOLD || !acceptsGzip(req.headers['accept-encoding'])) {
    finish(req, res, entry.body);
    return;
  }
  entry.gzipped ??= gzip(entry.body);
  entry.gzipped.then(
    (body) => {
      res.setHeader('Content-Encoding', 'gzip');
      finish(req, res, body);
    },
    () => finish(req, res, entry.body),
  );
}

function finish(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  res.statusCode = 200;
  res.setHeader('Content-Length', body.length);
  res.end(req.method === 'HEAD' ? undefined : body);
}

/** socket.io-client is not installed (or its file vanished): a 404 that says what to do. */
function answerMissing(req: IncomingMessage, res: ServerResponse): void {
  const body =
    'The Socket.IO client is not available: install the socket.io-client package next to express-socket.io ' +
    '(npm install socket.io-client), or set serveClient: false to serve it yourself.\n';
  res.statusCode = 404;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(req.method === 'HEAD' ? undefined : body);
}
