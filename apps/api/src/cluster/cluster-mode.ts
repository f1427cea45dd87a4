import { RedisCredentialChanges, type DecisionReader } from '@lapi/application';
import type { AppConfig } from '@lapi/config';
import type { Checkpoint } from '@lapi/event-store';
import {
  answerPullTimesFlushes,
  BARRIER_TIMEOUT_MS,
  DecisionGenerations,
  DecisionReplica,
  LookupTimes,
  parseCheckpoint,
  redisKeys,
  RedisProjectionBarrier,
  RedisStreamCursors,
} from '@lapi/read-models';
import { Logger } from '@nestjs/common';
import Redis from 'ioredis';
import { hostname } from 'node:os';
import { RedisFailureCounter } from '../auth/failure-counters';
import type { FailureCounter } from '../auth/login-throttle';
import { clusterDecisionReader } from './cluster-decision-reader';

// A cursor written less than this before Redis is emptied, by a replica that dies meanwhile, is lost.
const CURSOR_MIRROR_MS = 1_000;
const STATS_EVERY_MS = 5_000;

export interface ClusterMode {
  readonly reader: DecisionReader;
  readonly barrier: RedisProjectionBarrier;
  /** Failed logins, counted for all replicas. */
  readonly loginFailures: FailureCounter;
  /** Deletions announced to, and followed from, every process of the cluster. */
  readonly credentialChanges: RedisCredentialChanges;
  /** For the metrics: what this replica holds, and the live generation's head. */
  readonly replica: DecisionReplica;
  readonly generations: DecisionGenerations;
  /** For readiness: catches this replica's copy up, and gives the projection checkpoint it has at least reached. */
  readonly projection: () => Promise<Checkpoint | null>;
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
  // Without a listener ioredis prints every failed reconnection; one line per outage is enough.
  let down = false;
  redis.on('error', (error: Error) => {
    if (!down) {
      down = true;
      new Logger('ClusterMode').warn(`Redis connection lost, reconnecting: ${error.message}`);
    }
  });
  redis.on('ready', () => {
    if (down) {
      down = false;
      new Logger('ClusterMode').log('Redis connection back');
    }
  });
  await redis.connect();
  const keys = redisKeys(config.redisPrefix);
  const generations = new DecisionGenerations(redis, keys);
  const replica = new DecisionReplica(redis, generations);
  await replica.sync();
  const barrier = new RedisProjectionBarrier(redis, generations, BARRIER_TIMEOUT_MS.request, keys.projectorWake);
  const cursors = new RedisStreamCursors(redis, keys.streamCursors, keys.bouncerLookups);
  // Every save is published: each replica knows every bouncer's latest position, to put it back if Redis is emptied.
  const subscriber = redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null });
  await cursors.listen(subscriber);
  const credentialChanges = new RedisCredentialChanges(redis, keys.credentialChanges, (message) =>
    new Logger('ClusterMode').warn(message),
  );
  await credentialChanges.listen(subscriber);
  const lookups = new LookupTimes(cursors.writeLookups);
  // `lapi bouncers list` reads Redis itself: it asks every replica for the times noted since the last write.
  await answerPullTimesFlushes(subscriber, redis, keys.pullTimesFlush, () => lookups.flush());
  // And mirrors them all (positions saved before it started), putting back those Redis lost or holds older.
  const logger = new Logger('ClusterMode');
  const mirror = setInterval(() => {
    cursors.refresh().then(
      (restored: number) =>
        restored > 0 && logger.warn(`Redis had lost or held older ${restored} bouncer stream positions: put back`),
      () => undefined, // Redis away: the next tick tries again
    );
  }, CURSOR_MIRROR_MS);
  mirror.unref();
  // Read-your-writes waits, for `lapi projections status`.
  const replicaId = `${hostname()}:${process.pid}`;
  const stats = setInterval(() => {
    barrier.publish(keys.barrierStats, replicaId).catch(() => undefined);
  }, STATS_EVERY_MS);
  stats.unref();
  return {
    reader: clusterDecisionReader(replica, cursors, lookups),
    barrier,
    loginFailures: new RedisFailureCounter(redis, `${config.redisPrefix}login-failures:`),
    credentialChanges,
    replica,
    generations,
    projection: async () => {
      // The checkpoint first: once synced, the copy holds at least what the projection had applied by then.
      const checkpoint = parseCheckpoint((await generations.head()).checkpoint);
      await replica.sync();
      return checkpoint;
    },
    close: async () => {
      clearInterval(mirror);
      clearInterval(stats);
      subscriber.disconnect();
      await lookups.close().catch(() => undefined); // Redis away: a minute of lookup times is lost, no more
      await barrier.publish(keys.barrierStats, replicaId).catch(() => undefined);
      // quit() needs Redis; while it is away, just drop the connection (and its reconnection attempts).
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
