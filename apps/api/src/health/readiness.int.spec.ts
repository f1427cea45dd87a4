import { PostgresEventStore } from '@lapi/event-store';
import { decisionKeys, LocalLease, Projector, RedisDecisionsTarget, redisKeys } from '@lapi/read-models';
import { startPrivateRedis, testServerUrl } from '@lapi/testing';
import Redis from 'ioredis';
import postgres from 'postgres';
import { startTestApi, type TestApi } from '../../test/api-harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function ready(t: TestApi) {
  const res = await t.inject({ method: 'GET', url: '/health/ready' });
  return { status: res.statusCode, body: res.json<{ status?: string; message?: string }>() };
}

/** Polls until the readiness answer has `status` (a probe asks every few seconds; here every 100 ms). */
async function until(t: TestApi, status: number, withinMs = 15_000) {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const answer = await ready(t);
    if (answer.status === status || Date.now() > deadline) {
      return answer;
    }
    await sleep(100);
  }
}

describe('GET /health/ready in cluster mode (PostgreSQL + Redis)', () => {
  let server: Awaited<ReturnType<typeof startPrivateRedis>>;
  let redis: Redis;
  let t: TestApi;
  const prefix = 'lapi:';

  beforeAll(async () => {
    // A Redis of its own: one test stops it.
    server = await startPrivateRedis();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    t = await startTestApi('postgres', { REDIS_URL: server.url, LAPI_REDIS_PREFIX: prefix, LAPI_READY_MAX_LAG: '1s' });
  });
  afterAll(async () => {
    redis.disconnect();
    await t.close();
  });

  it('is ready with nothing to project, unready while the projection lags, ready again once it caught up', async () => {
    expect(await ready(t)).toEqual({ status: 200, body: { status: 'ready' } });

    // Events appended and no projector running (no worker): the lag grows past LAPI_READY_MAX_LAG.
    await t.bouncer('fw-1');
    await t.machine('agent-1');
    const lagging = await until(t, 503);
    expect(lagging.status).toBe(503);
    expect(lagging.body.message).toMatch(
      /^the decisions projection is \d+\.\d s behind the event log \(at most 1\.0 s\)/,
    );
    // /health stays the reference's: the process is alive.
    expect((await t.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'up' });

    // A worker's projector runs: ready again, and stays so.
    const projector = new Projector(
      new PostgresEventStore(t.api.database.db),
      new RedisDecisionsTarget(redis, decisionKeys(redisKeys(prefix).decisions)),
      new LocalLease('test-worker'),
    );
    let running = true;
    const loop = (async () => {
      while (running) {
        if ((await projector.step()).applied === 0) {
          await sleep(20);
        }
      }
    })();
    try {
      expect(await until(t, 200)).toEqual({ status: 200, body: { status: 'ready' } });
      await sleep(1_200);
      expect((await ready(t)).status).toBe(200);
    } finally {
      running = false;
      await loop;
    }
  });

  it('is unready while Redis is unreachable', async () => {
    await server.stop(); // for good: the suite ends with it
    const answer = await until(t, 503);
    expect(answer.status).toBe(503);
    expect(answer.body.message).toMatch(/^Redis is unreachable: /);
  });
});

describe('GET /health/ready without Redis (PostgreSQL only)', () => {
  let t: TestApi;
  let admin: postgres.Sql;
  let name: string;

  beforeAll(async () => {
    t = await startTestApi('postgres');
    name = new URL(t.api.database.url!).pathname.slice(1);
    admin = postgres(testServerUrl(), { max: 1, onnotice: () => undefined });
  });
  afterAll(async () => {
    await admin.unsafe(`alter database ${name} allow_connections true`);
    await admin.end();
    await t.close();
  });

  it('is ready while PostgreSQL answers, unready while it refuses connections, ready again after', async () => {
    await t.bouncer('fw-1'); // events nobody projects: no projection to wait for without Redis
    await sleep(1_100);
    expect(await ready(t)).toEqual({ status: 200, body: { status: 'ready' } });

    // The database goes away: new connections refused, the pool's current ones ended.
    await admin.unsafe(`alter database ${name} allow_connections false`);
    await admin.unsafe(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}'`);
    await sleep(300); // the pool sees its idle connections closed before the next query
    const down = await until(t, 503);
    expect(down.status).toBe(503);
    expect(down.body.message).toMatch(/^the database is unreachable: /);

    await admin.unsafe(`alter database ${name} allow_connections true`);
    expect((await until(t, 200)).status).toBe(200);
  });
});

describe('GET /health/ready in embedded mode (PGlite)', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi('pglite');
  });
  afterAll(async () => {
    await t.close();
  });

  it('is ready once the store is open, with events nobody has to project', async () => {
    await t.bouncer('fw-1');
    expect(await ready(t)).toEqual({ status: 200, body: { status: 'ready' } });
  });
});
