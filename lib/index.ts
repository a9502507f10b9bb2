// Public surface: socketio() returns the middleware function with the io server mixed in.
import { engine, type EngineMiddleware } from './engine-io';
import type { EngineOptions } from './options';

export * from './engine-io';

/** Options of socketio(): the engine's, with `path` defaulting to '/socket.io/'. */
export type ServerOptions = EngineOptions;

/**
 * Mounts the transports under `<mount>/socket.io/`:
 *
 * ```ts
 * app.use(socketio());              // /socket.io/
 * app.use('/chat', socketio());     // /chat/socket.io/
 * ```
 */
export function socketio(options: ServerOptions = {}): EngineMiddleware {
  return engine({ ...options, path: options.path ?? '/socket.io/' });
}
