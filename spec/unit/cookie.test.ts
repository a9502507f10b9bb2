// The sid cookie of the polling handshake: serializeCookie and the `cookie` option, checked against the
// `cookie` package the official server serialises with.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as cookie from 'cookie';
import { serializeCookie } from '../../lib/engine/cookie';
import { SocketIOError } from '../../lib/errors';
import { resolveEngineOptions, type CookieOptions } from '../../lib/options';

const SID = 'kbyTiLhvaFMMXQ29AAAA';

/** What the official server writes for the same option (engine.io: cookie.serialize(name, id, opts)). */
function official(opts: CookieOptions & { name: string }): string {
  return cookie.serialize(opts.name, SID, opts as cookie.CookieSerializeOptions);
}

describe('serializeCookie', () => {
  test('writes `io=<sid>; Path=/; HttpOnly; SameSite=Lax` for cookie: true', () => {
    const resolved = resolveEngineOptions({ cookie: true }).cookie;
    assert.ok(resolved);
    assert.equal(serializeCookie(resolved.name, SID, resolved), `io=${SID}; Path=/; HttpOnly; SameSite=Lax`);
  });

  test('writes the options the way the cookie package does (PROTOCOL.md §1.11)', () => {
    const rows: CookieOptions[] = [
      { name: 'my-cookie', maxAge: 86400, sameSite: 'strict' },
      { maxAge: 86400.9, domain: 'app.example', secure: true, sameSite: 'none' },
      { path: '/chat', httpOnly: false, sameSite: false },
      { sameSite: true },
      { maxAge: 0 },
      { sameSite: 'Strict' as 'strict' },
      { sameSite: 'NONE' as 'none', secure: true },
    ];
    for (const input of rows) {
      const resolved = resolveEngineOptions({ cookie: input }).cookie;
      assert.ok(resolved);
      assert.equal(serializeCookie(resolved.name, SID, resolved), official(resolved), JSON.stringify(input));
    }
  });

  test('percent-encodes the value', () => {
    assert.equal(serializeCookie('io', 'a b;c', { path: '/' }), 'io=a%20b%3Bc; Path=/');
  });
});

describe('the cookie option', () => {
  test('is off by default', () => {
    assert.equal(resolveEngineOptions({}).cookie, undefined);
    assert.equal(resolveEngineOptions({ cookie: false }).cookie, undefined);
  });

  test('refuses what would break the Set-Cookie header with ERR_INVALID_OPTION', () => {
    const bad: CookieOptions[] = [
      { name: 'i o' },
      { name: 'io;x=1' },
      { name: '' },
      { path: '/;Domain=evil.example' },
      { domain: 'a.example\r\nX-Injected: 1' },
      { sameSite: 'sometimes' as 'lax' },
      { maxAge: Number.NaN },
    ];
    for (const input of bad) {
      assert.throws(
        () => resolveEngineOptions({ cookie: input }),
        (err: unknown) => err instanceof SocketIOError && err.code === 'ERR_INVALID_OPTION',
        JSON.stringify(input),
      );
    }
  });
});
