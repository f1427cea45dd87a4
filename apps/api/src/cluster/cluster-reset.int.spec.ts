import { PostgresEventStore } from '@lapi/event-store';
import { decisionKeys, LocalLease, Projector, RedisDecisionsTarget, redisKeys } from '@lapi/read-models';
import { startPrivateRedis } from '@lapi/testing';
import Redis from 'ioredis';
import { cscliAlert, startTestApi, type TestApi } from '../../test/api-harness';

type Decision = { id: number; value: string };
type Stream = { new: Decision[] | null; deleted: Decision[] | null };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Two API replicas and a projector over one database and a Redis that gets emptied.
describe('cluster mode when Redis is emptied (FLUSHALL)', () => {
  let server: Awaited<ReturnType<typeof startPrivateRedis>>;
  let redis: Redis;
  let a: TestApi;
  let b: TestApi;
  let running = true;
  let loop: Promise<void>;

  beforeAll(async () => {
    server = await startPrivateRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
    const prefix = 'lapi:';
    const env = { REDIS_URL: server.url, LAPI_REDIS_PREFIX: prefix };
    a = await startTestApi('postgres', env);
    b = await startTestApi('postgres', env, a);
    const projector = new Projector(
      new PostgresEventStore(a.api.database.db),
      new RedisDecisionsTarget(redis, decisionKeys(redisKeys(prefix).decisions)),
      new LocalLease('test-worker'),
    );
    loop = (async () => {
      while (running) {
        const step = await projector.step();
        if (step.applied === 0) {
          await sleep(10);
        }
      }
    })();
  });

  afterAll(async () => {
    running = false;
    await loop;
    await b.close();
    await a.close();
    redis.disconnect();
    await server.stop();
  });

  it('gives every bouncer each decision once in new and each deletion once in deleted, whichever replica answers', async () => {
    const agent = await a.machine('agent');
    const bouncer = await a.bouncer('fw');
    const pull = async (api: TestApi, query = '') =>
      (await api.inject({ method: 'GET', url: `/v1/decisions/stream${query}`, headers: bouncer })).json<Stream>();
    const push = async (api: TestApi, value: string) =>
      expect(
        (
          await api.inject({
            method: 'POST',
            url: '/v1/alerts',
            headers: agent,
            payload: [cscliAlert([{ value }], { stopAt: a.clock.now() })],
          })
        ).statusCode,
      ).toBe(201);
    const values = (list: Decision[] | null) => (list ?? []).map((d) => d.value).sort();

    await push(a, '192.0.2.1');
    await push(a, '192.0.2.2');
    expect(values((await pull(a, '?startup=true')).new)).toEqual(['192.0.2.1', '192.0.2.2']);
    await push(b, '192.0.2.3');
    expect(values((await pull(b)).new)).toEqual(['192.0.2.3']);
    await sleep(1_500); // both replicas mirror the cursor (every second)

    expect(await redis.flushall()).toBe('OK');
    // The write waits for the rebuilt projection (bounded), and every answer stays exact meanwhile and after.
    await push(b, '192.0.2.4');
    const del = await a.inject({ method: 'DELETE', url: '/v1/decisions?ip=192.0.2.1', headers: agent });
    expect(del.json()).toEqual({ nbDeleted: '1' });
    const seen = { new: [] as string[], deleted: [] as string[] };
    for (const api of [a, b, a, b]) {
      const page = await pull(api);
      seen.new.push(...values(page.new));
      seen.deleted.push(...values(page.deleted));
    }
    expect(seen).toEqual({ new: ['192.0.2.4'], deleted: ['192.0.2.1'] });
    const live = await b.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.2', headers: bouncer });
    expect(live.json<Decision[]>().map((d) => d.value)).toEqual(['192.0.2.2']);
  });
});
