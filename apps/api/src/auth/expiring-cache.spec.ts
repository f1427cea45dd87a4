import { ExpiringCache } from './expiring-cache';

describe('ExpiringCache', () => {
  const ttl = (v: string | null) => (v === null ? 1_000 : 5_000);

  it('loads once per key while the entry lives, then again after it expired', async () => {
    let t = 0;
    let loads = 0;
    const cache = new ExpiringCache<string | null>(ttl);
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
    const cache = new ExpiringCache<string | null>(ttl);
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
    const cache = new ExpiringCache<string | null>(ttl);
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
    const cache = new ExpiringCache<string | null>(ttl, 2);
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
});
