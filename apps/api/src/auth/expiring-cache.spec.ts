import { ExpiringCache } from './expiring-cache';

describe('ExpiringCache', () => {
  const policy = { ttlMs: 5_000, maxEntries: 100, misses: { ttlMs: 1_000, maxEntries: 10 } };

  it('loads once per key while the entry lives, then again after it expired', async () => {
    let t = 0;
    let loads = 0;
    const cache = new ExpiringCache<string>(policy);
    const load = () => Promise.resolve(`v${++loads}`);
    expect(await cache.get('k', load, () => t)).toBe('v1');
    t = 4_999;
    expect(await cache.get('k', load, () => t)).toBe('v1');
    t = 5_000;
    expect(await cache.get('k', load, () => t)).toBe('v2');
  });

  it('keeps misses for less time than hits', async () => {
    let t = 0;
    let answer: string | null = null;
    const cache = new ExpiringCache<string>(policy);
    const load = () => Promise.resolve(answer);
    expect(await cache.get('k', load, () => t)).toBeNull();
    answer = 'added';
    t = 999;
    expect(await cache.get('k', load, () => t)).toBeNull();
    t = 1_000;
    expect(await cache.get('k', load, () => t)).toBe('added');
  });

  it('shares one load between concurrent misses and does not cache a failure', async () => {
    let loads = 0;
    let release!: (v: string) => void;
    const cache = new ExpiringCache<string>(policy);
    const slow = () => {
      loads++;
      return new Promise<string>((r) => (release = r));
    };
    const both = Promise.all([cache.get('k', slow), cache.get('k', slow)]);
    release('one');
    expect(await both).toEqual(['one', 'one']);
    expect(loads).toBe(1);

    await expect(cache.get('bad', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await cache.get('bad', () => Promise.resolve('recovered'))).toBe('recovered');
  });

  it('evicts the oldest entry beyond its size', async () => {
    const cache = new ExpiringCache<string>({ ...policy, maxEntries: 2 });
    await cache.get('a', () => Promise.resolve('a'));
    await cache.get('b', () => Promise.resolve('b'));
    await cache.get('c', () => Promise.resolve('c'));
    expect(cache.size).toBe(2);
    let reloaded = false;
    await cache.get('a', () => {
      reloaded = true;
      return Promise.resolve('a');
    });
    expect(reloaded).toBe(true);
  });

  it('drops expired entries as time passes, hits and misses, without being asked for them again', async () => {
    let t = 0;
    const cache = new ExpiringCache<string>(policy);
    for (let i = 0; i < 5; i++) {
      await cache.get(
        `hit-${i}`,
        () => Promise.resolve('v'),
        () => t,
      );
      await cache.get(
        `miss-${i}`,
        () => Promise.resolve(null),
        () => t,
      );
    }
    expect(cache.size).toBe(10);
    t = 1_000; // the misses' lifetime
    await cache.get(
      'other',
      () => Promise.resolve('v'),
      () => t,
    );
    expect(cache.size).toBe(6);
    t = 6_000; // the hits' lifetime, after 'other' was added
    await cache.get(
      'miss-new',
      () => Promise.resolve(null),
      () => t,
    );
    expect(cache.size).toBe(1); // 'miss-new' only ('other' lived until 6 000)
  });

  it('holds misses to their own, smaller bound: a flood of unknown keys does not push out known ones', async () => {
    const cache = new ExpiringCache<string>(policy);
    for (let i = 0; i < 50; i++) {
      await cache.get(`hit-${i}`, () => Promise.resolve('v'));
    }
    for (let i = 0; i < 10_000; i++) {
      await cache.get(`unknown-${i}`, () => Promise.resolve(null));
    }
    expect(cache.size).toBe(50 + 10);
    let reloaded = 0;
    for (let i = 0; i < 50; i++) {
      await cache.get(`hit-${i}`, () => Promise.resolve(`v${++reloaded}`));
    }
    expect(reloaded).toBe(0);
  });

  it('does not keep misses without a policy for them', async () => {
    const cache = new ExpiringCache<string>({ ttlMs: 5_000, maxEntries: 10 });
    let loads = 0;
    const load = () => Promise.resolve(++loads > 1 ? 'found' : null);
    expect(await cache.get('k', load)).toBeNull();
    expect(await cache.get('k', load)).toBe('found');
    expect(cache.size).toBe(1);
  });

  it('with refresh: reloads a value in the background and serves it meanwhile, while the load runs', async () => {
    let t = 0;
    const loads: { resolve: (v: string | null) => void }[] = [];
    const load = () => new Promise<string | null>((resolve) => loads.push({ resolve }));
    const cache = new ExpiringCache<string>({ ...policy, refresh: { afterMs: 2_500, staleMs: 30_000 } });
    const first = cache.get('k', load, () => t);
    loads[0].resolve('v1');
    expect(await first).toBe('v1');
    t = 2_499;
    expect(await cache.get('k', load, () => t)).toBe('v1');
    expect(loads).toHaveLength(1);
    // Half its time: a reload starts, the value is answered at once.
    t = 2_500;
    expect(await cache.get('k', load, () => t)).toBe('v1');
    expect(loads).toHaveLength(2);
    // Past its time, while the reload still runs (a busy database): still answered at once, no second load.
    t = 20_000;
    expect(await cache.get('k', load, () => t)).toBe('v1');
    expect(loads).toHaveLength(2);
    loads[1].resolve('v2');
    await Promise.resolve();
    await Promise.resolve();
    expect(await cache.get('k', load, () => t)).toBe('v2');
    // Not beyond the stale time: then a request waits for the load; and a deleted key's null replaces the value.
    t = 20_000 + 2_500;
    expect(await cache.get('k', load, () => t)).toBe('v2'); // starts reload 3
    t = 20_000 + 5_000 + 30_000;
    const waiting = cache.get('k', load, () => t);
    loads[2].resolve(null);
    expect(await waiting).toBeNull();
  });
});
