import { AuthenticateBouncer, hashApiKey, MAX_API_KEY_LENGTH } from '@lapi/application';
import type { Bouncer } from '@lapi/domain';
import { Injectable } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { BOUNCER_CACHE_TTL_MS, ExpiringCache, setBounded } from './expiring-cache';

/**
 * A deleted bouncer is refused by every replica at once (its deletion is announced), and within BOUNCER_CACHE_TTL_MS
 * if the announcement is lost — or, while the database is too busy to answer (a big write in embedded mode), once it
 * answers, at most 30 s later: a known key is reloaded in the background from half its time, and served meanwhile,
 * so a bouncer's requests never wait for the database. An unknown key is asked again sooner, and only the most
 * recent unknown keys are remembered: each is worth one query a second, not the process's memory.
 */
export const KEY_CACHE_POLICY = {
  ttlMs: BOUNCER_CACHE_TTL_MS,
  maxEntries: 100_000,
  misses: { ttlMs: 1_000, maxEntries: 1_000 },
  refresh: { afterMs: BOUNCER_CACHE_TTL_MS / 2, staleMs: 30_000 },
} as const;

/**
 * Which bouncer an API key belongs to: the one lookup of keys, for the bouncer guard and for the body limit.
 * Entries are keyed by the key's hash, so a held entry costs the same whatever the length of the key sent.
 *
 * Hashing a key (SHA-512) is the largest cost of a cached lookup: the hashes of the keys that belonged to a bouncer
 * are remembered (only those, so unknown keys cannot fill the memory, and at most as many as bouncers cached). The
 * hash of a key never changes: a deleted bouncer's key is refused by the cache keyed by hashes, as before.
 */
@Injectable()
export class BouncerKeys {
  private readonly cache = new ExpiringCache<Bouncer>(KEY_CACHE_POLICY);
  private readonly hashes = new Map<string, string>();
  private readonly lookup: (apiKey: string) => Promise<Bouncer | null>;

  constructor(queries: QueryBus) {
    this.lookup = (apiKey) => queries.execute(new AuthenticateBouncer(apiKey));
  }

  /** The key's bouncer, or null: unknown, or longer than any key can be (refused without a lookup). */
  find(apiKey: string): Promise<Bouncer | null> {
    if (apiKey === '' || apiKey.length > MAX_API_KEY_LENGTH) {
      return Promise.resolve(null);
    }
    const known = this.hashes.get(apiKey);
    if (known !== undefined) {
      return this.cache.get(known, () => this.lookup(apiKey));
    }
    const hash = hashApiKey(apiKey);
    return this.cache
      .get(hash, () => this.lookup(apiKey))
      .then((bouncer) => {
        if (bouncer !== null) {
          setBounded(this.hashes, apiKey, hash, KEY_CACHE_POLICY.maxEntries);
        }
        return bouncer;
      });
  }

  /** Reads the key's bouncer again in the background (after a change recorded of it); served as cached meanwhile. */
  refresh(apiKey: string): void {
    this.cache.refresh(this.hashes.get(apiKey) ?? hashApiKey(apiKey), () => this.lookup(apiKey));
  }

  /** Drops every cached key (after an admin change in this process). */
  clear(): void {
    this.cache.clear();
    this.hashes.clear();
  }

  /** Keys held (tests check the bounds). */
  get size(): number {
    return this.cache.size;
  }
}
