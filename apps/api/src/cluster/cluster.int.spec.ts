import { PostgresEventStore } from '@lapi/event-store';
import { decisionKeys, LocalLease, Projector, RedisDecisionsTarget, redisKeys } from '@lapi/read-models';
import { openTestRedis } from '@lapi/testing';
import { cscliAlert, startTestApi, type TestApi } from '../../test/api-harness';

type Decision = { id: number; value: string };
type Stream = { new: Decision[] | null; deleted: Decision[] | null };

// Two API replicas in cluster mode over one database and one Redis, and the projector a worker would run.
describe('cluster mode: bouncers read the Redis projection, on every replica, right after a write', () => {
  let redis: ReturnType<typeof openTestRedis>;
  let a: TestApi;
  let b: TestApi;
  let running = true;
  let loop: Promise<void>;

  beforeAll(async () => {
    redis = openTestRedis();
    const env = { REDIS_URL: process.env.TEST_REDIS_URL!, LAPI_REDIS_PREFIX: redis.prefix };
    a = await startTestApi('postgres', env);
    b = await startTestApi('postgres', env, a);
    const keys = redisKeys(redis.prefix);
    const projector = new Projector(
      new PostgresEventStore(a.api.database.db),
      new RedisDecisionsTarget(redis.redis, decisionKeys(keys.decisions)),
      new LocalLease('test-worker'),
    );
    loop = (async () => {
      while (running) {
        const step = await projector.step();
        if (step.applied === 0) {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    })();
  });

  afterAll(async () => {
    running = false;
    await loop;
    await b.close();
    await a.close();
    await redis.close();
  });

  it('answers a live query on the other replica as soon as the write is answered', async () => {
    const agent = await a.machine('agent');
    const bouncer = await a.bouncer('fw');
    const push = await a.inject({
      method: 'POST',
      url: '/v1/alerts',
      headers: agent,
      payload: [
        cscliAlert([{ value: '192.0.2.1' }, { value: '10.0.0.0/8', scope: 'Range' }], { stopAt: a.clock.now() }),
      ],
    });
    expect(push.statusCode).toBe(201);
    const res = await b.inject({ method: 'GET', url: '/v1/decisions?ip=10.1.2.3', headers: bouncer });
    expect(res.json<Decision[]>().map((d) => d.value)).toEqual(['10.0.0.0/8']);
  });

  it('streams from either replica with one position per bouncer, kept in Redis', async () => {
    const agent = await a.machine('agent2');
    const bouncer = await a.bouncer('fw2');
    const pull = async (api: TestApi, query = '') =>
      (await api.inject({ method: 'GET', url: `/v1/decisions/stream${query}`, headers: bouncer })).json<Stream>();
    const startup = await pull(a, '?startup=true');
    expect((startup.new ?? []).map((d) => d.value)).toEqual(expect.arrayContaining(['192.0.2.1', '10.0.0.0/8']));
    expect(await pull(b)).toEqual({ new: null, deleted: null });

    const pushed = await b.inject({
      method: 'POST',
      url: '/v1/alerts',
      headers: agent,
      payload: [cscliAlert([{ value: '192.0.2.2' }], { stopAt: a.clock.now() })],
    });
    expect(pushed.statusCode).toBe(201);
    expect((await pull(a)).new!.map((d) => d.value)).toEqual(['192.0.2.2']);
    expect(await pull(b)).toEqual({ new: null, deleted: null });

    const del = await a.inject({ method: 'DELETE', url: '/v1/decisions?ip=192.0.2.2', headers: agent });
    expect(del.json()).toEqual({ nbDeleted: '1' });
    expect((await pull(b)).deleted!.map((d) => d.value)).toEqual(['192.0.2.2']);
  });

  it('writes no database row for a poll', async () => {
    const bouncer = await a.bouncer('quiet');
    await a.inject({ method: 'GET', url: '/v1/decisions/stream?startup=true', headers: bouncer });
    await a.sightingsRecorded(); // its first sighting (its address) is recorded in the background
    const count = async () =>
      Number(
        (
          await a.api.database.db
            .selectFrom('events')
            .select((eb) => eb.fn.countAll<string>().as('n'))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const cursors = async () => (await a.api.database.db.selectFrom('bouncer_cursors').selectAll().execute()).length;
    const [events, rows] = [await count(), await cursors()];
    for (let i = 0; i < 5; i++) {
      await b.inject({ method: 'GET', url: '/v1/decisions/stream', headers: bouncer });
    }
    await b.sightingsRecorded();
    expect(await count()).toBe(events);
    expect(await cursors()).toBe(rows);
  });
});
