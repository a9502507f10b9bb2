// Dynamic namespaces: io.of(/regexp/ or function) creates children on demand, sharing middleware and listeners.
import type { EventsMap, DefaultEventsMap } from './events';
import { Namespace, type NamespaceHost } from './namespace';

/** Decides whether `name` is a namespace of this parent: `next(err, allowed)`. */
export type NamespaceMatcher = (
  name: string,
  auth: Record<string, unknown>,
  next: (err: Error | null, allowed: boolean) => void,
) => void;

/* eslint-disable @typescript-eslint/no-explicit-any -- socket.io's defaults for the four generics */
export class ParentNamespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = DefaultEventsMap,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  /* eslint-enable @typescript-eslint/no-explicit-any */
  private static count = 0;
  readonly children = new Set<Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>();
  readonly matcher: NamespaceMatcher;

  constructor(server: NamespaceHost, matcher: NamespaceMatcher) {
    super(server, `/_${ParentNamespace.count++}`);
    this.matcher = matcher;
  }

  /** Broadcasts reach every child namespace. */
  override emit: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>['emit'] = (ev, ...args) => {
    for (const child of this.children) (child.emit as (ev: unknown, ...a: unknown[]) => boolean)(ev, ...(args as unknown[]));
    return true;
  };

  /** A child for `name`, with the parent's middlewares and its connect/connection listeners. */
  createChild(name: string): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
    const child = new Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>(this.server, name);
    child._fns = [...this._fns];
    for (const ev of ['connect', 'connection', 'message', 'disconnect'] as const) {
      for (const listener of this.listeners(ev)) child.on(ev, listener as never);
    }
    this.children.add(child);
    return child;
  }
}

/** Turns io.of()'s RegExp or function argument into a matcher. */
export function toMatcher(nameOrFn: RegExp | NamespaceMatcher): NamespaceMatcher {
  if (typeof nameOrFn === 'function') return nameOrFn;
  return (name, _auth, next) => next(null, nameOrFn.test(name));
}
