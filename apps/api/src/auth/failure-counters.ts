import type Redis from 'ioredis';
import type { FailureCounter, WindowCount } from './login-throttle';

// Above this many keys, ended windows are dropped; past the cap, the oldest keys go (a flood of made-up
// machine ids must not grow the process without bound). Every window has the same length.
const SWEEP_AT = 10_000;
const MAX_KEYS = 100_000;

/** Embedded mode (one process): fixed windows in a Map. */
export class MemoryFailureCounter implements FailureCounter {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  read(keys: readonly string[]): Promise<WindowCount[]> {
    const now = this.now();
    return Promise.resolve(
      keys.map((key) => {
        const w = this.windows.get(key);
        return w && w.endsAt > now ? { count: w.count, resetInMs: w.endsAt - now } : { count: 0, resetInMs: 0 };
      }),
    );
  }

  add(keys: readonly string[], windowMs: number): Promise<void> {
    const now = this.now();
    for (const key of keys) {
      const w = this.windows.get(key);
      if (w && w.endsAt > now) {
        w.count += 1;
      } else {
        this.windows.delete(key); // re-inserted last: the Map stays in window-start order for the cap below
        this.windows.set(key, { count: 1, endsAt: now + windowMs });
      }
    }
    // The Map is in window-start order, so ended and oldest windows are at its front: each add only looks there.
    if (this.windows.size > SWEEP_AT) {
      for (const [key, w] of this.windows) {
        if (w.endsAt > now && this.windows.size <= MAX_KEYS) {
          break;
        }
        this.windows.delete(key);
      }
    }
    return Promise.resolve();
  }

  // Without an await between the read and the count, so no other attempt runs in between.
  take(key: string, limit: number, windowMs: number): Promise<WindowCount | null> {
    const w = this.windows.get(key);
    const now = this.now();
    if (w && w.endsAt > now && w.count >= limit) {
      return Promise.resolve({ count: w.count, resetInMs: w.endsAt - now });
    }
    return this.add([key], windowMs).then(() => null);
  }

  giveBack(key: string): Promise<void> {
    const w = this.windows.get(key);
    if (w && w.endsAt > this.now() && w.count > 0) {
      w.count -= 1;
    }
    return Promise.resolve();
  }
}

// INCR, and the expiry set with the first failure (or put back if a key somehow lost it), in one step.
const ADD_SCRIPT = `
for _, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 or redis.call('PTTL', key) < 0 then
    redis.call('PEXPIRE', key, ARGV[1])
  end
end
return 0`;

// Full: the count and time left, nothing taken; else one more, as ADD_SCRIPT.
const TAKE_SCRIPT = `
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 and n >= tonumber(ARGV[1]) then
  return {n, ttl}
end
n = redis.call('INCR', KEYS[1])
if n == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return false`;

// DECR keeps the expiry; a window that ended meanwhile is left alone.
const GIVE_BACK_SCRIPT = `
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  redis.call('DECR', KEYS[1])
end
return 0`;

/** Cluster mode: fixed windows in Redis, shared by every replica (INCR + PEXPIRE). */
export class RedisFailureCounter implements FailureCounter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  async read(keys: readonly string[]): Promise<WindowCount[]> {
    const pipeline = this.redis.pipeline();
    for (const key of keys) {
      pipeline.get(this.prefix + key).pttl(this.prefix + key);
    }
    const replies = (await pipeline.exec()) ?? [];
    for (const [error] of replies) {
      if (error) {
        throw error;
      }
    }
    return keys.map((_, i) => {
      const count = Number(replies[2 * i][1] ?? 0);
      const ttl = Number(replies[2 * i + 1][1]);
      return ttl > 0 ? { count, resetInMs: ttl } : { count: 0, resetInMs: 0 };
    });
  }

  async add(keys: readonly string[], windowMs: number): Promise<void> {
    await this.redis.eval(ADD_SCRIPT, keys.length, ...keys.map((k) => this.prefix + k), String(windowMs));
  }

  async take(key: string, limit: number, windowMs: number): Promise<WindowCount | null> {
    const full = (await this.redis.eval(TAKE_SCRIPT, 1, this.prefix + key, String(limit), String(windowMs))) as
      [number, number] | null;
    return full ? { count: Number(full[0]), resetInMs: Number(full[1]) } : null;
  }

  async giveBack(key: string): Promise<void> {
    await this.redis.eval(GIVE_BACK_SCRIPT, 1, this.prefix + key);
  }
}
