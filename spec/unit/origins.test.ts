// The `origins` policy: which Origin headers are allowed, on a bare request object (Origin + Host).
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { OriginPolicy, OriginVerdict } from '../../lib/engine/origins';
import { SocketIOError } from '../../lib/errors';

function req(origin: string | undefined, host = '127.0.0.1:3000'): IncomingMessage {
  const headers: Record<string, string> = { host };
  if (origin !== undefined) headers.origin = origin;
  return { headers } as unknown as IncomingMessage;
}

type Row = [origin: string | undefined, host: string, verdict: OriginVerdict];

function check(origins: readonly string[] | '*', rows: Row[]): void {
  const policy = new OriginPolicy(origins);
  for (const [origin, host, verdict] of rows) {
    test(`${JSON.stringify(origin ?? null)} with Host ${host} is ${verdict}`, () => {
      assert.equal(policy.check(req(origin, host)), verdict);
    });
  }
}

describe('OriginPolicy with the default (no origins)', () => {
  check(
    [],
    [
      [undefined, '127.0.0.1:3000', OriginVerdict.NONE],
      ['http://127.0.0.1:3000', '127.0.0.1:3000', OriginVerdict.SAME],
      // the scheme is left out: a TLS-terminating proxy hides it from us
      ['https://127.0.0.1:3000', '127.0.0.1:3000', OriginVerdict.SAME],
      ['https://app.example', 'app.example', OriginVerdict.SAME],
      ['http://app.example:80', 'app.example', OriginVerdict.SAME],
      ['http://APP.example', 'app.EXAMPLE', OriginVerdict.SAME],
      ['http://[::1]:3000', '[::1]:3000', OriginVerdict.SAME],
      ['http://127.0.0.1:3001', '127.0.0.1:3000', OriginVerdict.REFUSED],
      ['http://localhost:3000', '127.0.0.1:3000', OriginVerdict.REFUSED],
      ['https://evil.example', 'app.example', OriginVerdict.REFUSED],
      ['null', '127.0.0.1:3000', OriginVerdict.REFUSED],
      ['not a url', '127.0.0.1:3000', OriginVerdict.REFUSED],
      ['http://127.0.0.1:3000', '', OriginVerdict.REFUSED],
    ],
  );
});

describe('OriginPolicy with an exact origin', () => {
  check(
    ['https://app.example'],
    [
      ['https://app.example', 'api.example', OriginVerdict.ALLOWED],
      ['https://app.example:443', 'api.example', OriginVerdict.ALLOWED],
      ['https://APP.example', 'api.example', OriginVerdict.ALLOWED],
      ['http://app.example', 'api.example', OriginVerdict.REFUSED],
      ['https://app.example:8443', 'api.example', OriginVerdict.REFUSED],
      ['https://evil-app.example', 'api.example', OriginVerdict.REFUSED],
      ['https://app.example.evil', 'api.example', OriginVerdict.REFUSED],
      ['https://sub.app.example', 'api.example', OriginVerdict.REFUSED],
      [undefined, 'api.example', OriginVerdict.NONE],
      ['https://api.example', 'api.example', OriginVerdict.SAME],
    ],
  );
});

describe("OriginPolicy with 'http://localhost:*'", () => {
  check(
    ['http://localhost:*'],
    [
      ['http://localhost:5173', '127.0.0.1:3000', OriginVerdict.ALLOWED],
      ['http://localhost:3001', '127.0.0.1:3000', OriginVerdict.ALLOWED],
      ['http://localhost', '127.0.0.1:3000', OriginVerdict.ALLOWED],
      ['https://localhost:5173', '127.0.0.1:3000', OriginVerdict.REFUSED],
      ['http://localhost.evil.example:5173', '127.0.0.1:3000', OriginVerdict.REFUSED],
      ['http://127.0.0.1:5173', '127.0.0.1:3000', OriginVerdict.REFUSED],
    ],
  );
});

describe("OriginPolicy with '*.example.com' and 'https://*.example.org'", () => {
  check(
    ['*.example.com', 'https://*.example.org'],
    [
      ['https://app.example.com', 'api.test', OriginVerdict.ALLOWED],
      ['http://app.example.com', 'api.test', OriginVerdict.ALLOWED],
      ['https://a.b.example.com', 'api.test', OriginVerdict.ALLOWED],
      ['https://example.com', 'api.test', OriginVerdict.REFUSED],
      ['https://evilexample.com', 'api.test', OriginVerdict.REFUSED],
      ['https://app.example.com:8443', 'api.test', OriginVerdict.REFUSED],
      ['https://app.example.org', 'api.test', OriginVerdict.ALLOWED],
      ['http://app.example.org', 'api.test', OriginVerdict.REFUSED],
    ],
  );
});

describe("OriginPolicy with '*'", () => {
  for (const origins of ['*', ['*']] as const) {
    check(origins, [
      ['https://anything.example', 'api.test', OriginVerdict.ALLOWED],
      ['null', 'api.test', OriginVerdict.ALLOWED],
      ['http://api.test', 'api.test', OriginVerdict.SAME],
      [undefined, 'api.test', OriginVerdict.NONE],
    ]);
  }
});

describe('OriginPolicy options', () => {
  test('refuses an entry that is no origin pattern with ERR_INVALID_OPTION, at construction', () => {
    for (const bad of ['', 'https://app.example/path', 'https://app.example:port', 'ftp//x', 'https://a b.example']) {
      assert.throws(
        () => new OriginPolicy([bad]),
        (err: unknown) => err instanceof SocketIOError && err.code === 'ERR_INVALID_OPTION',
        JSON.stringify(bad),
      );
    }
  });

  test('accepts patterns with a trailing slash, an explicit default port and IPv6 literals', () => {
    const policy = new OriginPolicy(['https://app.example/', 'http://other.example:80', 'http://[::1]:*']);
    assert.equal(policy.check(req('https://app.example')), OriginVerdict.ALLOWED);
    assert.equal(policy.check(req('http://other.example')), OriginVerdict.ALLOWED);
    assert.equal(policy.check(req('http://[::1]:5173')), OriginVerdict.ALLOWED);
  });
});
