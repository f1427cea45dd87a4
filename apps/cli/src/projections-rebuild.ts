import type { AppConfig } from '@lapi/config';
import { DecisionGenerations, redisKeys } from '@lapi/read-models';
import Redis from 'ioredis';
import { AdminError } from './admin-client';

export interface RebuildResult {
  readonly generation: number;
  /** false when it was only asked for (no wait, or the wait ran out). */
  readonly live: boolean;
}

/**
 * Asks the worker that runs the decisions projector to rebuild the read model from the log into a new generation
 * and to switch to it once caught up; waits for the switch up to `waitMs` (0: only ask). Bouncers keep being served
 * from the live generation meanwhile.
 */
export async function projectionsRebuild(
  config: AppConfig,
  waitMs: number,
  progress: (generation: number) => void = () => undefined,
): Promise<RebuildResult> {
  if (!config.redisUrl || config.database.kind !== 'postgres') {
    throw new AdminError(
      'USAGE',
      'projections live in Redis in cluster mode (DATABASE_URL and REDIS_URL set); in embedded mode bouncers read the database directly',
    );
  }
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    const generations = new DecisionGenerations(redis, redisKeys(config.redisPrefix));
    const generation = await generations.request();
    progress(generation);
    const started = Date.now();
    while (Date.now() - started < waitMs) {
      if ((await generations.live()) >= generation) {
        return { generation, live: true };
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return { generation, live: (await generations.live()) >= generation };
  } finally {
    redis.disconnect();
  }
}
