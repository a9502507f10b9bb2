// The user's Redis client, node-redis (v4/v5) or ioredis, seen as raw commands and one subscription.

/** The slice of a node-redis or ioredis client the session store uses (it only adds a duplicate, to subscribe). */
export interface RedisClientLike {
  /** node-redis: `sendCommand(args)` (ioredis has an internal one of another shape: `call` tells them apart) */
  sendCommand?(...args: never[]): unknown;
  /** ioredis: `call(command, ...args)` */
  call?(...args: never[]): unknown;
  duplicate(...args: never[]): unknown;
  isReady?: boolean;
  status?: string;
}

type Send = (...args: unknown[]) => Promise<unknown>;

interface NodeRedisSubscriber {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
  on(event: 'error', listener: (err: unknown) => void): unknown;
  close?(): Promise<unknown>;
  quit?(): Promise<unknown>;
  destroy?(): void;
  disconnect?(): unknown;
  isOpen?: boolean;
}

interface IoRedisSubscriber {
  subscribe(channel: string): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
  status?: string;
}

/** Raw commands over either library, and whether a command sent now would go out at once. */
export class RedisLink {
  private readonly client: RedisClientLike;
  private subscriber: NodeRedisSubscriber | IoRedisSubscriber | undefined;
  private readonly ioredis: boolean;

  constructor(client: RedisClientLike) {
    if (typeof client?.sendCommand !== 'function' && typeof client?.call !== 'function') {
      throw new TypeError('RedisSessionStore needs a node-redis (v4/v5) or ioredis client');
    }
    this.client = client;
    this.ioredis = typeof client.call === 'function';
  }

  /** False while the client is (re)connecting: its offline queue would grow without bound. */
  get ready(): boolean {
    const c = this.client;
    return this.ioredis ? c.status === 'ready' : c.isReady !== false;
  }

  /** Never throws: a client that refuses at once (closed) gives a rejected promise like any other failure. */
  send(args: string[]): Promise<unknown> {
    const c = this.client;
    try {
      if (this.ioredis) return (c.call as unknown as Send).call(c, ...args);
      return (c.sendCommand as unknown as Send).call(c, args);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Subscribes a duplicate of the client (a subscribed connection takes no other command) to `channel`. */
  async subscribe(channel: string, listener: (message: string) => void, onError: (err: unknown) => void): Promise<void> {
    if (!this.ioredis) {
      const sub = this.client.duplicate() as NodeRedisSubscriber;
      this.subscriber = sub;
      sub.on('error', onError);
      await sub.connect();
      await sub.subscribe(channel, listener);
      return;
    }
    const sub = this.client.duplicate() as IoRedisSubscriber;
    this.subscriber = sub;
    sub.on('error', onError);
    sub.on('message', (ch: unknown, message: unknown) => {
      if (ch === channel) listener(String(message));
    });
    await sub.subscribe(channel);
  }

  /** Closes the subscriber this link created (the user's client stays the user's). */
  async close(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (!sub) return;
    try {
      if ('connect' in sub) {
        if (sub.isOpen === false) return;
        await (sub.close ? sub.close() : sub.quit?.());
      } else if (sub.status !== 'end') {
        await sub.quit();
      }
    } catch {
      if (!('connect' in sub)) sub.disconnect();
      else if (sub.destroy) sub.destroy();
      else sub.disconnect?.();
    }
  }
}
