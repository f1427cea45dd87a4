import type { AppConfig } from '@lapi/config';
import { openDatabase, PostgresEventStore, START } from '@lapi/event-store';
import {
  DecisionGenerations,
  RedisDecisionsTarget,
  redisKeys,
  RedisLease,
  waitQuantileMs,
  type BarrierStats,
} from '@lapi/read-models';
import Redis from 'ioredis';
import { AdminError } from './admin-client';

export interface ProjectionStatus {
  name: string;
  checkpoint: string | null;
  /** Events committed to the log that the projection has not applied yet. */
  lag: number;
  changes: number;
  owner: string | null;
  /** The live generation (see `lapi projections rebuild`). */
  generation: number;
  /** The generation being rebuilt, and how far it got. */
  rebuilding: { generation: number; checkpoint: string | null; lag: number; changes: number } | null;
  /** Per API replica: how long its writes waited for the projection (read-your-writes), since it started. */
  readYourWrites: ReplicaWaits[];
}

export interface ReplicaWaits {
  replica: string;
  waits: number;
  meanMs: number;
  /** Upper bounds of the histogram buckets the median and the 99th percentile fall in. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  timeouts: number;
  unavailable: number;
  /** When the replica last published them (every few seconds while it runs). */
  at: string;
}

async function replicaWaits(redis: Redis, key: string): Promise<ReplicaWaits[]> {
  const all = await redis.hgetall(key);
  return Object.entries(all)
    .map(([replica, json]) => {
      const s = JSON.parse(json) as BarrierStats & { at: number };
      return {
        replica,
        waits: s.waits,
        meanMs: s.waits ? Math.round((s.totalMs / s.waits) * 10) / 10 : 0,
        p50Ms: waitQuantileMs(s, 0.5),
        p99Ms: waitQuantileMs(s, 0.99),
        maxMs: s.maxMs,
        timeouts: s.timeouts,
        unavailable: s.unavailable ?? 0,
        at: new Date(s.at).toISOString(),
      };
    })
    .sort((a, b) => a.replica.localeCompare(b.replica));
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
    const generations = new DecisionGenerations(redis, keys);
    const position = async (generation: number) => {
      const target = new RedisDecisionsTarget(redis, generations.keysOf(generation));
      const checkpoint = await target.checkpoint();
      return {
        generation,
        checkpoint: checkpoint ? `${checkpoint.transactionId}:${checkpoint.position}` : null,
        lag: await store.countAfter(checkpoint ?? START),
        changes: await target.seq(),
      };
    };
    const { generation, ...live } = await position(await generations.live());
    const next = await generations.requested();
    return [
      {
        name: 'decisions',
        ...live,
        owner: await new RedisLease(redis, keys.decisionsProjectorLease, 'cli', 1).owner(),
        generation,
        rebuilding: next === null ? null : await position(next),
        readYourWrites: await replicaWaits(redis, keys.barrierStats),
      },
    ];
  } finally {
    redis.disconnect();
    await database.close();
  }
}
