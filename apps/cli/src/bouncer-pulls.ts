import type { AppConfig } from '@lapi/config';
import { redisKeys, RedisStreamCursors } from '@lapi/projections';
import Redis from 'ioredis';
import { sendAdminRequest } from './admin-client';

/**
 * The last pull of each of these bouncer instances: the time its stream position was saved, in Redis in a cluster
 * (where the API replicas keep positions), else in the database.
 */
export async function lastPulls(config: AppConfig, names: string[]): Promise<Map<string, string>> {
  if (names.length === 0) {
    return new Map();
  }
  if (config.redisUrl && config.database.kind === 'postgres') {
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      await redis.connect();
      return await new RedisStreamCursors(redis, redisKeys(config.redisPrefix).streamCursors).pulledAt(names);
    } finally {
      redis.disconnect();
    }
  }
  const { result } = await sendAdminRequest(config, { op: 'bouncers.positions', keys: names });
  return new Map(Object.entries(result as Record<string, string>));
}
