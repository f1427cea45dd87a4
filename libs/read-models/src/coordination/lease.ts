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

// Take when free, or extend when ours, in one step (a plain SET NX could not renew). Beside it, the holder's
// Redis connection id (KEYS[2]): a standby takes over at once when that connection is gone.
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
  return 1
end
return 0`;

// Only from the holder and connection the standby saw gone.
const TAKE_OVER = `
if redis.call('GET', KEYS[1]) == ARGV[4] and redis.call('GET', KEYS[2]) == ARGV[5] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
  return 1
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  return redis.call('DEL', KEYS[1])
end
return 0`;

// How often a standby asks whether the holder's connection is still there, and a holder re-reads its own id
// (a reconnection changes it).
const HOLDER_CHECK_MS = 200;
const OWN_ID_MS = 1_000;

/**
 * A lease in Redis that expires after `ttlMs` unless renewed. A holder killed (its Redis connection closed) is
 * replaced at once by the next standby's acquire; one that hangs, within the ttl.
 */
export class RedisLease implements Lease {
  private connection: { id: string; at: number } | undefined;
  private checkedAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    readonly id: string,
    private readonly ttlMs: number,
  ) {}

  async acquire(): Promise<boolean> {
    const mine = await this.connectionId();
    const args = [this.id, String(this.ttlMs), mine];
    if ((await this.redis.eval(ACQUIRE, 2, this.key, this.connKey, ...args)) === 1) {
      return true;
    }
    if (Date.now() - this.checkedAt < HOLDER_CHECK_MS) {
      return false;
    }
    this.checkedAt = Date.now();
    const [holder, conn] = await this.redis.mget(this.key, this.connKey);
    if (!holder || !conn || !/^\d+$/.test(conn)) {
      return false;
    }
    // CLIENT LIST ID needs Redis 6.2; an older one answers an error and the lease is left to expire.
    const alive = await (this.redis.client('LIST', 'ID', conn) as Promise<string>).catch(() => 'unknown');
    if (alive !== '') {
      return false;
    }
    return (await this.redis.eval(TAKE_OVER, 2, this.key, this.connKey, ...args, holder, conn)) === 1;
  }

  async release(): Promise<void> {
    await this.redis.eval(RELEASE, 2, this.key, this.connKey, this.id);
  }

  owner(): Promise<string | null> {
    return this.redis.get(this.key);
  }

  private get connKey(): string {
    return `${this.key}:conn`;
  }

  private async connectionId(): Promise<string> {
    if (!this.connection || Date.now() - this.connection.at > OWN_ID_MS) {
      this.connection = { id: String(await this.redis.client('ID')), at: Date.now() };
    }
    return this.connection.id;
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
