// The user's Redis client, node-redis (v4/v5) or ioredis, seen as raw commands and one subscription.

/** The slice of a node-redis or ioredis client the session store uses; the store never creates a client. */
export interface RedisClientLike {
  /** node-redis */
  sendCommand?(args: string[]): Promise<unknown>;
  /** ioredis */
  call?(command: string, ...args: string[]): Promise<unknown>;
  duplicate(): unknown;
  isReady?: boolean;
  status?: string;
}

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

  constructor(client: RedisClientLike) {
    if (typeof client?.sendCommand !== 'function' && typeof client?.call !== 'function') {
      throw new TypeError('RedisSessionStore needs a node-redis (v4/v5) or ioredis client');
    }
    this.client = client;
  }

  /** False while the client is (re)connecting: its offline queue would grow without bound. */
  get ready(): boolean {
    const c = this.client;
    return typeof c.sendCommand === 'function' ? c.isReady !== false : c.status === 'ready';
  }

  send(args: string[]): Promise<unknown> {
    const c = this.client;
    if (typeof c.sendCommand === 'function') return c.sendCommand(args);
    return (c.call as NonNullable<RedisClientLike['call']>)(args[0], ...args.slice(1));
  }

  /** Subscribes a duplicate of the client (a subscribed connection takes no other command) to `channel`. */
  async subscribe(channel: string, listener: (message: string) => void, onError: (err: unknown) => void): Promise<void> {
    if (typeof this.client.sendCommand === 'function') {
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
