import { openTestRedis } from '@lapi/testing';
import Redis from 'ioredis';
import { RedisProjectionBarrier, WAIT_BUCKETS_MS, waitQuantileMs } from './redis-projection-barrier';

const at = (transactionId: number, lastPosition: number) => ({
  transactionId: BigInt(transactionId),
  lastPosition: BigInt(lastPosition),
});

describe('RedisProjectionBarrier', () => {
  let redis: ReturnType<typeof openTestRedis>;
  beforeAll(() => {
    redis = openTestRedis();
  });
  afterAll(() => redis.close());

  it('waits until the checkpoint passes the write, bounded, and measures each wait', async () => {
    const key = `${redis.prefix}checkpoint`;
    const barrier = new RedisProjectionBarrier(redis.redis, key, 300);
    await redis.redis.set(key, '10:100');
    await barrier.waitFor([at(10, 100), at(9, 120)]); // already applied
    setTimeout(() => void redis.redis.set(key, '11:101'), 50);
    await barrier.waitFor([at(11, 101)]); // applied meanwhile
    const started = Date.now();
    await barrier.waitFor([at(12, 1)]); // never applied: answered after the bound
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);

    const s = barrier.stats;
    expect(s).toMatchObject({ waits: 3, timeouts: 1, unavailable: 0 });
    expect(s.histogram.reduce((a, b) => a + b, 0)).toBe(3);
    expect(s.maxMs).toBeGreaterThanOrEqual(300);
    expect(waitQuantileMs(s, 0.99)).toBeGreaterThanOrEqual(500); // the ≥ 300 ms wait is the slowest

    await barrier.publish(`${redis.prefix}stats`, 'replica-1');
    const published = JSON.parse((await redis.redis.hget(`${redis.prefix}stats`, 'replica-1'))!) as { waits: number };
    expect(published.waits).toBe(3);
  });

  it('answers at once, without failing the write, when Redis cannot be asked', async () => {
    // A client that fails fast, like the API's (no offline queue), to a port where nothing listens.
    const down = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    down.on('error', () => undefined);
    const barrier = new RedisProjectionBarrier(down, 'x', 5_000);
    const started = Date.now();
    await expect(barrier.waitFor([at(1, 1)])).resolves.toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(barrier.stats).toMatchObject({ waits: 0, unavailable: 1 });
    down.disconnect();
  });

  it('reads quantiles as the upper bound of their bucket, Infinity past the last one', () => {
    const histogram = new Array<number>(WAIT_BUCKETS_MS.length + 1).fill(0);
    histogram[0] = 90; // ≤ 1 ms
    histogram[4] = 9; // ≤ 20 ms
    histogram[WAIT_BUCKETS_MS.length] = 1; // > 2 s
    const stats = { waits: 100, timeouts: 1, unavailable: 0, totalMs: 2_300, maxMs: 2_100, histogram };
    expect(waitQuantileMs(stats, 0.5)).toBe(1);
    expect(waitQuantileMs(stats, 0.95)).toBe(20);
    expect(waitQuantileMs(stats, 0.99)).toBe(20);
    expect(waitQuantileMs(stats, 1)).toBe(Infinity);
  });
});
