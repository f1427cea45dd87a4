import type { AppConfig } from '@lapi/config';
import { sendAdminRequest } from './admin-client';

/**
 * The last pull of each of these bouncer instances (name → position key): the time its stream position was saved,
 * in Redis in a cluster (where the API replicas keep positions), else in the database. By instance name.
 */
export async function lastPulls(config: AppConfig, keys: ReadonlyMap<string, string>): Promise<Map<string, string>> {
  const positions = [...keys.values()];
  const times = positions.length === 0 ? new Map<string, string>() : await positionTimes(config, positions);
  return new Map([...keys].flatMap(([name, key]) => (times.has(key) ? [[name, times.get(key)!] as const] : [])));
}

async function positionTimes(config: AppConfig, keys: string[]): Promise<Map<string, string>> {
  if (config.redisUrl && config.database.kind === 'postgres') {
    // Loaded here only: a list without bouncers, or outside a cluster, needs no Redis client.
    const [{ default: Redis }, { RedisStreamCursors }, { redisKeys }] = await Promise.all([
      import('ioredis'),
      import('@lapi/projections/cluster/redis-stream-cursors'),
      import('@lapi/projections/cluster/redis-keys'),
    ]);
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
    try {
      await redis.connect();
      return await new RedisStreamCursors(redis, redisKeys(config.redisPrefix).streamCursors).pulledAt(keys);
    } finally {
      redis.disconnect();
    }
  }
  const { result } = await sendAdminRequest(config, { op: 'bouncers.positions', keys });
  return new Map(Object.entries(result as Record<string, string>));
}
