import { loadConfig } from '@lapi/config';
import { redisKeys, RedisStreamCursors } from '@lapi/projections';
import { openTestRedis } from '@lapi/testing';
import { lastPulls } from './bouncer-pulls';

// In a cluster the instances' last pulls are their positions' times in Redis, read by the CLI itself.
describe('lapi bouncers list: last pulls from the cluster positions', () => {
  it("reads each instance's position time from Redis, and nothing for one never saved", async () => {
    const redis = openTestRedis();
    try {
      const cursors = new RedisStreamCursors(redis.redis, redisKeys(redis.prefix).streamCursors);
      const at = Date.parse('2026-11-29T03:00:00.000Z');
      await cursors.save('ingress\u001f10.0.0.2', { seq: 4, pulledAt: at }, false);
      await cursors.save('ingress\u001fpod-b', { seq: 5, pulledAt: at + 1_000, hash: 'ab12' }, false);
      // A bouncer named like an instance has a position of its own.
      await cursors.save('ingress@pod-b', { seq: 9, pulledAt: at + 9_000 }, false);
      const config = loadConfig(
        {
          DATABASE_URL: 'postgres://unused/x',
          REDIS_URL: process.env.TEST_REDIS_URL,
          LAPI_REDIS_PREFIX: redis.prefix,
        },
        { requireSecret: false },
      );
      const keys = (...suffixes: string[]) => new Map(suffixes.map((s) => [`ingress@${s}`, `ingress\u001f${s}`]));
      const times = await lastPulls(config, keys('10.0.0.2', 'pod-b', 'never'));
      expect(Object.fromEntries(times)).toEqual({
        'ingress@10.0.0.2': '2026-11-29T03:00:00.000Z',
        'ingress@pod-b': '2026-11-29T03:00:01.000Z',
      });
      expect((await lastPulls(config, new Map())).size).toBe(0);
    } finally {
      await redis.close();
    }
  });
});
