import { PostgresEventStore } from '@lapi/event-store';
import { decisionKeys, LocalLease, Projector, RedisDecisionsTarget, redisKeys } from '@lapi/read-models';
import { startPrivateRedis } from '@lapi/testing';
import Redis from 'ioredis';
import { cscliAlert, startTestApi, type TestApi } from '../../test/api-harness';

// What an API replica does while the cluster's Redis is gone: nothing a client sends gets a 500.
describe('cluster mode while Redis is down', () => {
  let server: Awaited<ReturnType<typeof startPrivateRedis>>;
  let t: TestApi;
  // Added while Redis is up, deleted while it is down.
  let leaving: { authorization: string };
  let leavingBouncer: Record<string, string>;

  beforeAll(async () => {
    server = await startPrivateRedis();
    t = await startTestApi('postgres', { REDIS_URL: server.url, LAPI_REDIS_PREFIX: 'lapi:' });
    leaving = await t.machine('leaving');
    leavingBouncer = await t.bouncer('leaving-fw');
  });
  afterAll(async () => {
    await t.close(); // Redis is already stopped by the test
  });

  it('answers lookups from the replica, refuses stream pulls with 503, and still accepts writes', async () => {
    const agent = await t.machine('agent');
    const key = await t.bouncer('fw');
    // Project the first write by hand (no worker in this test).
    const redis = new Redis(server.url);
    const projector = new Projector(
      new PostgresEventStore(t.api.database.db),
      new RedisDecisionsTarget(redis, decisionKeys(redisKeys('lapi:').decisions)),
      new LocalLease('test'),
    );
    const write = (value: string) =>
      t.inject({
        method: 'POST',
        url: '/v1/alerts',
        headers: agent,
        payload: [cscliAlert([{ value }], { stopAt: t.clock.now() })],
      });
    let answered = false;
    const pending = write('192.0.2.1').finally(() => (answered = true));
    while (!answered) {
      await projector.catchUp();
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await pending).statusCode).toBe(201);
    const lookup = () => t.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.1', headers: key });
    expect((await lookup()).json<{ value: string }[]>().map((d) => d.value)).toEqual(['192.0.2.1']);
    redis.disconnect();

    await server.stop();
    const held = await lookup();
    expect(held.statusCode).toBe(200);
    expect(held.json<{ value: string }[]>().map((d) => d.value)).toEqual(['192.0.2.1']);
    const pull = await t.inject({ method: 'GET', url: '/v1/decisions/stream?startup=true', headers: key });
    expect(pull.statusCode).toBe(503);
    expect(pull.json()).toEqual({
      message: 'the decision stream is unavailable (the cluster cannot reach Redis): retry later',
    });
    // Durable in the log: answered at once, projected once Redis is back.
    const started = Date.now();
    expect((await write('192.0.2.2')).statusCode).toBe(201);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('deletes machines and bouncers all the same, though their deletion cannot be announced', async () => {
    // Runs after the test above stopped Redis.
    const started = Date.now();
    const gone = await t.inject({ method: 'DELETE', url: '/v1/watchers/self', headers: leaving });
    expect(gone.statusCode).toBe(204);
    await t.admin({ op: 'bouncers.delete', name: 'leaving-fw' });
    expect(Date.now() - started).toBeLessThan(1_500);
    // This replica forgets them at once; the others, unannounced, within their cache lifetime.
    const heartbeat = await t.inject({ method: 'GET', url: '/v1/heartbeat', headers: leaving });
    expect(heartbeat.statusCode).toBe(401);
    const pull = await t.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.1', headers: leavingBouncer });
    expect(pull.statusCode).toBe(403);
  });
});
