import { loadConfig } from '@lapi/config';
import { LookupTimes, redisKeys, RedisStreamCursors } from '@lapi/read-models';
import { openTestRedis } from '@lapi/testing';
import { lastPulls } from './bouncer-pulls';

// In a cluster the processes' last pulls are their positions' and lookups' times in Redis, read by the CLI itself.
describe('lapi bouncers list: last pulls from the cluster positions and lookups', () => {
  it("reads each process's latest position or lookup time from Redis, and nothing for one never seen", async () => {
    const redis = openTestRedis();
    try {
      const keys = redisKeys(redis.prefix);
      const cursors = new RedisStreamCursors(redis.redis, keys.streamCursors, keys.bouncerLookups);
      const at = Date.parse('2026-11-29T03:00:00.000Z');
      await cursors.save('ingress\u001f10.0.0.2', { seq: 4, pulledAt: at }, false);
      await cursors.save('ingress\u001fpod-b', { seq: 5, pulledAt: at + 1_000, hash: 'ab12' }, false);
      // A bouncer named like an instance has a position of its own.
      await cursors.save('ingress@pod-b', { seq: 9, pulledAt: at + 9_000 }, false);
      // Lookups: a process that only looks up, and a lookup later than a position; an older one changes nothing.
      const lookups = new LookupTimes(cursors.writeLookups);
      lookups.note('ingress', at + 5_000);
      lookups.note('ingress\u001f10.0.0.2', at + 7_000);
      await lookups.flush();
      lookups.note('ingress\u001f10.0.0.2', at + 6_000);
      await lookups.flush();
      const config = loadConfig(
        {
          DATABASE_URL: 'postgres://unused/x',
          REDIS_URL: process.env.TEST_REDIS_URL,
          LAPI_REDIS_PREFIX: redis.prefix,
        },
        { requireSecret: false },
      );
      const times = await lastPulls(config, [
        'ingress',
        'ingress\u001f10.0.0.2',
        'ingress\u001fpod-b',
        'ingress\u001fnever',
      ]);
      expect(Object.fromEntries(times)).toEqual({
        ingress: '2026-11-29T03:00:05.000Z',
        'ingress\u001f10.0.0.2': '2026-11-29T03:00:07.000Z',
        'ingress\u001fpod-b': '2026-11-29T03:00:01.000Z',
      });
      expect((await lastPulls(config, [])).size).toBe(0);
    } finally {
      await redis.close();
    }
  });
});
