import { loadConfig } from '@lapi/config';
import { receiveAlert, type EventMetadata } from '@lapi/domain';
import { migrateToLatest, openDatabase, PostgresEventStore, type DatabaseHandle } from '@lapi/event-store';
import {
  alertsProjection,
  DecisionGenerations,
  DecisionReplica,
  DecisionsProjector,
  LiveDecisionsTarget,
  LocalLease,
  Projector,
  redisKeys,
  RedisProjectionBarrier,
  RedisStreamCursors,
  type DecisionFilter,
} from '@lapi/read-models';
import { anAlert, createScratchDatabase, openTestRedis } from '@lapi/testing';
import { projectionsRebuild } from './projections-rebuild';
import { projectionsStatus } from './projections-status';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };
const ALL: DecisionFilter = { contains: true, includeSimulated: true };

describe('lapi projections rebuild', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let database: DatabaseHandle;
  let store: PostgresEventStore;
  let redis: ReturnType<typeof openTestRedis>;
  let nextId = 1;

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    database = await openDatabase({ kind: 'postgres', url: scratch.url });
    await migrateToLatest(database.db);
    store = new PostgresEventStore(database.db, [alertsProjection]);
    redis = openTestRedis();
  });
  afterAll(async () => {
    await redis.close();
    await database.close();
    await scratch.drop();
  });

  const ban = async (...values: string[]) => {
    const alertId = nextId++;
    const ids = values.map(() => nextId++);
    const event = receiveAlert(
      anAlert(),
      values.map((value) => ({ duration: '1h', origin: 'cscli', scenario: 's', scope: 'Ip', type: 'ban', value })),
      'm',
      { alertId, alertUuid: `a${alertId}`, decisionIds: ids, decisionUuids: ids.map((i) => `d${i}`) },
      new Date(),
    );
    return store.appendToStream(`alert-${alertId}`, [event], { expectedVersion: 'no_stream', metadata });
  };

  it('builds a new generation beside the live one, switches, deletes the old one; replicas and cursors follow', async () => {
    const keys = redisKeys(redis.prefix);
    const generations = new DecisionGenerations(redis.redis, keys);
    const target = new LiveDecisionsTarget(redis.redis, generations);
    const projector = new DecisionsProjector(store, redis.redis, generations, target, new LocalLease('w'), 2);
    const stepUntil = async (done: () => Promise<boolean>) => {
      for (let i = 0; i < 1000 && !(await done()); i++) {
        if ((await projector.step()).applied === 0) {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
      expect(await done()).toBe(true);
    };
    for (let i = 1; i <= 5; i++) {
      await ban(`192.0.2.${i}`, `198.51.100.${i}`);
    }
    const barrier = new RedisProjectionBarrier(redis.redis, generations, 5_000);
    const last = await ban('203.0.113.1');
    await stepUntil(async () => (await generations.head()).seq === 11);

    const replica = new DecisionReplica(redis.redis, generations);
    const cursors = new RedisStreamCursors(redis.redis, keys.streamCursors, keys.bouncerLookups);
    const poll = async (startup = false) => {
      const cursor = startup ? null : await cursors.load('fw');
      const { full, ...page } = await replica.pull(ALL, true, cursor, Date.now());
      await cursors.save('fw', page.next, full);
      return page.new.map((d) => d.value).sort();
    };
    expect(await poll(true)).toHaveLength(11);

    const config = loadConfig(
      { DATABASE_URL: scratch.url, REDIS_URL: process.env.TEST_REDIS_URL!, LAPI_REDIS_PREFIX: redis.prefix },
      { requireSecret: false },
    );
    expect(await projectionsRebuild(config, 0)).toEqual({ generation: 2, live: false });
    expect(await projectionsRebuild(config, 0)).toEqual({ generation: 2, live: false }); // asked once
    await projector.step();
    const [during] = await projectionsStatus(config);
    expect(during).toMatchObject({ generation: 1, changes: 11, lag: 0, rebuilding: { generation: 2 } });
    expect(during.rebuilding!.changes).toBeLessThan(11);
    // Bouncers are served from generation 1 meanwhile, and writes go on.
    await ban('203.0.113.2');
    const liveOnly = new Projector(store, target, new LocalLease('w'));
    while ((await generations.head()).seq < 12) {
      await liveOnly.step();
    }
    expect(await poll()).toEqual(['203.0.113.2']);
    expect(await generations.live()).toBe(1);

    await stepUntil(async () => (await generations.live()) === 2);
    const [after] = await projectionsStatus(config);
    expect(after).toMatchObject({ generation: 2, changes: 12, lag: 0, rebuilding: null });
    expect(await redis.redis.exists(`${keys.decisions}checkpoint`, `${keys.decisions}changes`)).toBe(0);
    expect(await redis.redis.keys(`${keys.decisions}alert:*`)).toEqual([]);
    expect(await redis.redis.keys(`${keys.decisions}g2:alert:*`)).toHaveLength(7);

    await ban('203.0.113.3');
    await stepUntil(async () => (await generations.head()).seq === 13);
    expect(await poll()).toEqual(['203.0.113.3']);
    expect(replica.reloads).toBe(0); // the same code numbers the new generation the same way
    expect((await replica.find(ALL, Date.now())).length).toBe(13);
    const started = Date.now();
    await barrier.waitFor([last]);
    expect(barrier.stats.timeouts).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
