/** How long answers are kept, and how many. */
export interface ExpiringCachePolicy {
  /** A value found. */
  readonly ttlMs: number;
  readonly maxEntries: number;
  /** "Not found" (a load answering null); without it such answers are not kept. */
  readonly misses?: { readonly ttlMs: number; readonly maxEntries: number };
  /**
   * A value older than this is loaded again in the background while it is still served; once past `ttlMs`, it is
   * still served while that load is running, for at most `staleMs` more (a database busy with a big write does not
   * hold up requests whose answer it already gave a moment ago). Without it, a value past `ttlMs` waits for a load.
   */
  readonly refresh?: { readonly afterMs: number; readonly staleMs: number };
}

/**
 * What a key resolved to, kept for a few seconds so that a bouncer's lookups and polls cost no database round
 * trip (the reference queries its database on every request). A deleted bouncer or a revoked key is refused once
 * its entry expires, on every replica; "not found" is remembered for less time and in a smaller space, so a key added
 * a moment ago works almost at once while a flood of bad keys costs one query per key and second and little memory.
 *
 * Hits and misses each have one lifetime, so each map's insertion order is its expiry order: every call first drops
 * the expired entries from the old end, and nothing outlives its lifetime by more than the time to the next call.
 */
export class ExpiringCache<V> {
  // `until`: when the entry goes (ttl, plus the stale time with `refresh`); `freshUntil`: when it must be reloaded.
  private readonly found = new Map<string, { value: V; until: number; freshUntil: number; loadedAt: number }>();
  private readonly missing = new Map<string, { until: number }>();
  private readonly pending = new Map<string, Promise<V | null>>();

  constructor(private readonly policy: ExpiringCachePolicy) {}

  /** The cached answer, else `load()`'s (concurrent misses of one key share one load; failures are not cached). */
  async get(key: string, load: () => Promise<V | null>, now: () => number = Date.now): Promise<V | null> {
    const at = now();
    this.sweep(at);
    const hit = this.found.get(key);
    const refresh = this.policy.refresh;
    if (hit && hit.freshUntil > at) {
      if (refresh && at - hit.loadedAt >= refresh.afterMs && !this.pending.has(key)) {
        this.load(key, load, now).catch(() => undefined); // served meanwhile; a failure asks again next time
      }
      return hit.value;
    }
    const miss = this.missing.get(key);
    if (miss && miss.until > at) {
      return null;
    }
    const inFlight = this.pending.get(key);
    if (inFlight) {
      // Past its time, the value is served while the load that replaces it runs (see `refresh`).
      return hit && hit.until > at ? hit.value : inFlight;
    }
    return this.load(key, load, now);
  }

  private load(key: string, load: () => Promise<V | null>, now: () => number): Promise<V | null> {
    const loading = load().then(
      (value) => {
        this.pending.delete(key);
        this.remember(key, value, now());
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

  /** Loads the entry again in the background (served as it is meanwhile); nothing when a load is under way. */
  refresh(key: string, load: () => Promise<V | null>, now: () => number = Date.now): void {
    if (!this.pending.has(key)) {
      this.load(key, load, now).catch(() => undefined);
    }
  }

  delete(key: string): void {
    this.found.delete(key);
    this.missing.delete(key);
  }

  clear(): void {
    this.found.clear();
    this.missing.clear();
  }

  /** Entries held, found and not found. */
  get size(): number {
    return this.found.size + this.missing.size;
  }

  private remember(key: string, value: V | null, at: number): void {
    const { misses } = this.policy;
    if (value !== null) {
      this.missing.delete(key);
      const freshUntil = at + this.policy.ttlMs;
      const until = freshUntil + (this.policy.refresh?.staleMs ?? 0);
      setBounded(this.found, key, { value, until, freshUntil, loadedAt: at }, this.policy.maxEntries);
    } else if (misses) {
      this.found.delete(key);
      setBounded(this.missing, key, { until: at + misses.ttlMs }, misses.maxEntries);
    }
  }

  private sweep(at: number): void {
    for (const map of [this.found, this.missing]) {
      for (const [key, entry] of map) {
        if (entry.until > at) {
          break;
        }
        map.delete(key);
      }
    }
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
