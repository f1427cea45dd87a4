import type { AppConfig } from '@lapi/config';
import { openDatabase, PostgresEventStore, START } from '@lapi/event-store';
import { decisionKeys, RedisDecisionsTarget, redisKeys, RedisLease } from '@lapi/projections';
import Redis from 'ioredis';
import { AdminError } from './admin-client';

export interface ProjectionStatus {
  name: string;
  checkpoint: string | null;
  /** Events committed to the log that the projection has not applied yet. */
  lag: number;
  changes: number;
  owner: string | null;
}

/** Where each Redis projection stands against the log, and which worker runs it. */
export async function projectionsStatus(config: AppConfig): Promise<ProjectionStatus[]> {
  if (!config.redisUrl || config.database.kind !== 'postgres') {
    throw new AdminError(
      'USAGE',
      'projections live in Redis in cluster mode (DATABASE_URL and REDIS_URL set); in embedded mode bouncers read the database directly',
    );
  }
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  const database = await openDatabase(config.database, { maxConnections: 1 });
  try {
    await redis.connect();
    const store = new PostgresEventStore(database.db);
    const keys = redisKeys(config.redisPrefix);
    const target = new RedisDecisionsTarget(redis, decisionKeys(keys.decisions));
    const checkpoint = await target.checkpoint();
    return [
      {
        name: target.name,
        checkpoint: checkpoint ? `${checkpoint.transactionId}:${checkpoint.position}` : null,
        lag: await store.countAfter(checkpoint ?? START),
        changes: await target.seq(),
        owner: await new RedisLease(redis, keys.decisionsProjectorLease, 'cli', 1).owner(),
      },
    ];
  } finally {
    redis.disconnect();
    await database.close();
  }
}
