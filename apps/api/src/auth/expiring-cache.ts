/**
 * What an API key resolved to, kept for a few seconds so that a bouncer's lookups and polls cost no database round
 * trip (the reference queries its database on every request). A deleted bouncer or a revoked key is refused once
 * its entry expires, on every replica; unknown keys are remembered for less time, so a key added a moment ago works
 * almost at once while a flood of bad keys still costs one query per key and second.
 */
export class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; until: number }>();
  private readonly pending = new Map<string, Promise<V>>();

  constructor(
    private readonly ttlMs: (value: V) => number,
    private readonly maxEntries = 100_000,
  ) {}

  /** The cached value, else `load()`'s (concurrent misses of one key share one load; failures are not cached). */
  async get(key: string, load: () => Promise<V>, now: () => number = Date.now): Promise<V> {
    const hit = this.entries.get(key);
    if (hit && hit.until > now()) {
      return hit.value;
    }
    const inFlight = this.pending.get(key);
    if (inFlight) {
      return inFlight;
    }
    const loading = load().then(
      (value) => {
        this.pending.delete(key);
        this.set(key, value, now());
        return value;
      },
      (error: unknown) => {
        this.pending.delete(key);
        throw error;
      },
    );
    this.pending.set(key, loading);
    return loading;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private set(key: string, value: V, now: number): void {
    setBounded(this.entries, key, { value, until: now + this.ttlMs(value) }, this.maxEntries);
  }
}

/** How long a bouncer found by API key or by certificate name is trusted without asking the database again. */
export const BOUNCER_CACHE_TTL_MS = 5_000;

/** Likewise the machine a JWT names: a deleted machine's tokens are refused by every replica within this. */
export const MACHINE_CACHE_TTL_MS = BOUNCER_CACHE_TTL_MS;

/**
 * Sets `key` as the newest entry of `map`, dropping the oldest first once `max` entries are held (a Map iterates
 * in insertion order): a burst of distinct keys cannot grow the process without bound.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  map.delete(key);
  if (map.size >= max) {
    const oldest = map.keys().next();
    if (!oldest.done) {
      map.delete(oldest.value);
    }
  }
  map.set(key, value);
}
