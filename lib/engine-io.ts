// Entry point `express-socket.io/engine`: the Engine.IO layer alone, as middleware, raw messages.
import type { Server } from 'node:http';
import { createEngineMiddleware, type Middleware } from './express/middleware';
import { EngineServer } from './engine/server';
import { resolveEngineOptions, type EngineOptions } from './options';
import { mixin } from './util/mixin';

export { EngineServer, type ConnectionErrorEvent } from './engine/server';
export { EngineSocket, type CloseReason, type SendData } from './engine/session';
export type { EngineOptions, CookieOptions, AllowRequest, TransportName } from './options';
export { SocketIOError, ERROR_CODES, EngineErrorCode, type ErrorCode } from './errors';

/** The engine middleware: call it as (req, res, next), use it as the EngineServer it mixes in. */
export type EngineMiddleware = Middleware &
  EngineServer & {
    /** Routes the server's `upgrade` events through the app, beside other upgrade listeners. */
    attach(server: Server): () => void;
  };

/**
 * An Engine.IO v4 server as Express/Connect middleware, served at `<mount>/engine.io/` by default.
 *
 * ```ts
 * const eio = engine();
 * app.use(eio);
 * eio.on('connection', (socket) => socket.on('message', (data) => socket.send(data)));
 * ```
 */
export function engine(options?: EngineOptions): EngineMiddleware {
  const opts = resolveEngineOptions(options, '/engine.io/');
  const server = new EngineServer(opts);
  return mixin(createEngineMiddleware(server, opts.logger), server) as EngineMiddleware;
}
