import type { AppConfig } from '@lapi/config';
import { sendAdminRequest } from './admin-client';

/**
 * The last pull of each of these stream position keys: the later of its position's time and its last lookup's, in
 * Redis in a cluster (where the API replicas keep them), else in the database.
 */
export async function lastPulls(config: AppConfig, keys: readonly string[]): Promise<Map<string, string>> {
  return keys.length === 0 ? new Map<string, string>() : positionTimes(config, [...keys]);
}

async function positionTimes(config: AppConfig, keys: string[]): Promise<Map<string, string>> {
  if (config.redisUrl && config.database.kind === 'postgres') {
    // Loaded here only: a list without bouncers, or outside a cluster, needs no Redis client.
    const [{ default: Redis }, { RedisStreamCursors }, { redisKeys }, { flushReplicasPullTimes }] = await Promise.all([
      import('ioredis'),
      import('@lapi/read-models/decisions/redis/redis-stream-cursors'),
      import('@lapi/read-models/coordination/redis-keys'),
      import('@lapi/read-models/decisions/redis/pull-times-flush'),
    ]);
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      await redis.connect();
      const redisKeyNames = redisKeys(config.redisPrefix);
      // The replicas write lookup and idle-poll times once a minute: current ones are asked for.
      await flushReplicasPullTimes(redis, redisKeyNames.pullTimesFlush);
      return await new RedisStreamCursors(redis, redisKeyNames.streamCursors, redisKeyNames.bouncerLookups).pulledAt(
        keys,
      );
    } finally {
      redis.disconnect();
    }
  }
  const { result } = await sendAdminRequest(config, { op: 'bouncers.positions', keys });
  return new Map(Object.entries(result as Record<string, string>));
}
