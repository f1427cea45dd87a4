import type { DecisionReader } from '@lapi/application';
import type { AppConfig } from '@lapi/config';
import {
  decisionKeys,
  DecisionReplica,
  redisKeys,
  RedisProjectionBarrier,
  RedisStreamCursors,
} from '@lapi/projections';
import Redis from 'ioredis';
import { clusterDecisionReader } from './cluster-decision-reader';

export interface ClusterMode {
  readonly reader: DecisionReader;
  readonly barrier: RedisProjectionBarrier;
  close(): Promise<void>;
}

/**
 * With PostgreSQL and Redis, the API is one replica of a cluster: bouncers read an in-memory replica of the Redis
 * read model the workers keep, and writes wait for that read model. Without Redis, everything reads the database.
 */
export async function startClusterMode(config: AppConfig): Promise<ClusterMode | undefined> {
  if (!config.redisUrl || config.database.kind !== 'postgres') {
    return undefined;
  }
  // Fail fast while Redis is away instead of queueing requests behind a dead connection (bullmq's advice for producers).
  const redis = new Redis(config.redisUrl, { enableOfflineQueue: false, lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  const keys = redisKeys(config.redisPrefix);
  const decisions = decisionKeys(keys.decisions);
  const replica = new DecisionReplica(redis, decisions);
  await replica.sync();
  const barrier = new RedisProjectionBarrier(redis, decisions.checkpoint);
  return {
    reader: clusterDecisionReader(replica, new RedisStreamCursors(redis, keys.streamCursors)),
    barrier,
    close: async () => {
      await redis.quit();
    },
  };
}
