import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';

/** A Redis connection to the server `npm test` prepared, and a key prefix no other test uses. */
export function openTestRedis(): { redis: Redis; url: string; prefix: string; close(): Promise<void> } {
  const url = process.env.TEST_REDIS_URL;
  if (!url) {
    throw new Error('TEST_REDIS_URL is not set: run the tests with `npm test`, which starts or finds Redis');
  }
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  const prefix = `lapi-test:${randomBytes(6).toString('hex')}:`;
  return {
    redis,
    url,
    prefix,
    close: async () => {
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) {
        await redis.del(...keys);
      }
      await redis.quit();
    },
  };
}
