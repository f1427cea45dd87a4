import type Redis from 'ioredis';

/** Exclusive ownership of a job across processes: whoever holds the lease does the work, others wait. */
export interface Lease {
  /** Takes the lease if it is free or already ours; true when we hold it now. Renews it when we already do. */
  acquire(): Promise<boolean>;
  /** Gives it up if we hold it. */
  release(): Promise<void>;
  /** The owner id of whoever holds it, if anyone. */
  owner(): Promise<string | null>;
  readonly id: string;
}

// Take when free, or extend when ours, in one step (a plain SET NX could not renew).
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** A lease in Redis that expires after `ttlMs` unless renewed: a crashed owner is replaced within the ttl. */
export class RedisLease implements Lease {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    readonly id: string,
    private readonly ttlMs: number,
  ) {}

  async acquire(): Promise<boolean> {
    return (await this.redis.eval(ACQUIRE, 1, this.key, this.id, String(this.ttlMs))) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key, this.id);
  }

  owner(): Promise<string | null> {
    return this.redis.get(this.key);
  }
}

/** In embedded mode there is one process: the lease is always ours. */
export class LocalLease implements Lease {
  private held = false;
  constructor(readonly id: string) {}
  acquire(): Promise<boolean> {
    this.held = true;
    return Promise.resolve(true);
  }
  release(): Promise<void> {
    this.held = false;
    return Promise.resolve();
  }
  owner(): Promise<string | null> {
    return Promise.resolve(this.held ? this.id : null);
  }
}
