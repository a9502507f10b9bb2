// The `cookie` package (installed for engine.io, without types): the one function the specs compare with.
declare module 'cookie' {
  export interface CookieSerializeOptions {
    maxAge?: number;
    domain?: string;
    path?: string;
    httpOnly?: boolean;
    secure?: boolean;
    sameSite?: boolean | 'lax' | 'strict' | 'none';
  }
  export function serialize(name: string, value: string, options?: CookieSerializeOptions): string;
}
