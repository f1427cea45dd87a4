import { PostgresEventStore } from '@lapi/event-store';
import { decisionKeys, LocalLease, Projector, RedisDecisionsTarget, redisKeys } from '@lapi/read-models';
import { openTestRedis } from '@lapi/testing';
import { startTestApi, type TestApi } from './api-harness';

/** The three ways the API reads decisions: every suite about what bouncers see runs against each. */
export const DECISION_MODES = ['embedded', 'postgres', 'cluster'] as const;
export type DecisionMode = (typeof DECISION_MODES)[number];

/**
 * An API in `mode`: embedded (PGlite) and PostgreSQL alone read the in-memory index this process projects from the
 * log; cluster mode reads the Redis read model, fed here by the projector a worker would run.
 */
export async function startApiIn(mode: DecisionMode): Promise<TestApi & { redisPrefix?: string }> {
  if (mode !== 'cluster') {
    return startTestApi(mode === 'embedded' ? 'pglite' : 'postgres');
  }
  const redis = openTestRedis();
  const api = await startTestApi('postgres', {
    REDIS_URL: redis.url,
    LAPI_REDIS_PREFIX: redis.prefix,
  });
  const projector = new Projector(
    new PostgresEventStore(api.api.database.db),
    new RedisDecisionsTarget(redis.redis, decisionKeys(redisKeys(redis.prefix).decisions)),
    new LocalLease('test-worker'),
  );
  let running = true;
  const loop = (async () => {
    while (running) {
      const step = await projector.step();
      if (step.applied === 0) {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  })();
  return {
    ...api,
    /** Where this API's keys are (LAPI_REDIS_PREFIX), for the CLI and for watching its commands. */
    redisPrefix: redis.prefix,
    close: async () => {
      running = false;
      await loop;
      await api.close();
      await redis.close();
    },
  };
}
