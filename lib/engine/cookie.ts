// Serialises the sid cookie of the polling handshake (the `cookie` option, for sticky load balancers).
import type { CookieOptions } from '../options';

/** `name=value; Max-Age=…; Domain=…; Path=…; HttpOnly; Secure; SameSite=…`, in the `cookie` package's order. */
export function serializeCookie(name: string, value: string, opts: CookieOptions): string {
  let out = `${name}=${encodeURIComponent(value)}`;
  if (opts.maxAge !== undefined) out += `; Max-Age=${Math.floor(opts.maxAge)}`;
  if (opts.domain) out += `; Domain=${opts.domain}`;
  if (opts.path) out += `; Path=${opts.path}`;
  if (opts.httpOnly) out += '; HttpOnly';
  if (opts.secure) out += '; Secure';
  if (opts.sameSite) {
    const same = opts.sameSite === true ? 'strict' : opts.sameSite.toLowerCase();
    out += `; SameSite=${same.charAt(0).toUpperCase()}${same.slice(1)}`;
  }
  return out;
}
