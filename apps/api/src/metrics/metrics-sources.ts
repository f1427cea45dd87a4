import type { Clock } from '@lapi/application';
import { PostgresEventStore, START, type DatabaseHandle } from '@lapi/event-store';
import {
  countActiveDecisions,
  countAlertsByScenario,
  latestUsageReports,
  latestUsageSamples,
  parseCheckpoint,
  type DecisionGenerations,
  type DecisionReplica,
  type MemoryDecisions,
  type RedisProjectionBarrier,
} from '@lapi/read-models';
import type { MetricsSources } from './lapi-metrics';

// Every pod is scraped every ~15 s: within these ages a scrape reuses the last answer instead of asking again.
const DECISIONS_MAX_AGE_MS = 5_000;
// Counting alerts reads every alert: at most once a minute per replica.
const ALERTS_MAX_AGE_MS = 60_000;
const LOG_MAX_AGE_MS = 5_000;
// Components report every 15 to 30 minutes: a minute-old answer is as good.
const USAGE_MAX_AGE_MS = 60_000;
// Label values come from clients: at most this many usage series, whatever they send.
export const MAX_USAGE_SERIES = 10_000;

/** `read`, answered from its last result while younger than `maxAgeMs`; concurrent callers share one read. */
export function cached<T>(maxAgeMs: number, read: () => Promise<T>, now: () => number = Date.now): () => Promise<T> {
  let last: { at: number; value: T } | undefined;
  let pending: Promise<T> | undefined;
  return () => {
    if (last && now() - last.at < maxAgeMs) {
      return Promise.resolve(last.value);
    }
    pending ??= read()
      .then((value) => {
        last = { at: now(), value };
        return value;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}

/**
 * The gauges' sources. Active decisions come from this process's in-memory index (a pass over it, no I/O); alert counts and the log's head from the database, cached.
 */
export function metricsSources(
  database: DatabaseHandle,
  clock: Clock,
  cluster?: { replica: DecisionReplica; generations: DecisionGenerations; barrier: RedisProjectionBarrier },
  memory?: MemoryDecisions,
): MetricsSources {
  const store = new PostgresEventStore(database.db);
  const activeDecisions = cluster
    ? cached(DECISIONS_MAX_AGE_MS, async () => {
        // Caught up first (one Redis round trip when nothing is new); Redis away: what it holds.
        await cluster.replica.sync().catch(() => undefined);
        return cluster.replica.countActive(clock.now().getTime());
      })
    : memory
      ? cached(DECISIONS_MAX_AGE_MS, () => Promise.resolve(memory.countActive(clock.now().getTime())))
      : cached(DECISIONS_MAX_AGE_MS, () => countActiveDecisions(database.db, clock.now()));
  const projectionLags = cluster
    ? cached(LOG_MAX_AGE_MS, async () => {
        const head = await cluster.generations.head();
        return [{ projection: 'decisions', lag: await store.countAfter(parseCheckpoint(head.checkpoint) ?? START) }];
      })
    : () => Promise.resolve([]);
  return {
    activeDecisions,
    alertsByScenario: cached(ALERTS_MAX_AGE_MS, () => countAlertsByScenario(database.db)),
    eventLogHead: cached(LOG_MAX_AGE_MS, async () => Number((await store.head()).position)),
    projectionLags,
    usageMetrics: cached(USAGE_MAX_AGE_MS, async () =>
      latestUsageSamples(await latestUsageReports(database.db, clock.now()), MAX_USAGE_SERIES),
    ),
    barrierOutcomes: () => cluster?.barrier.stats,
  };
}
