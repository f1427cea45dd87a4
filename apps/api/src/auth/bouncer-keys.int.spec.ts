import { openTestRedis } from '@lapi/testing';
import { startTestApi, type TestApi } from '../../test/api-harness';
import { BouncerKeys } from './bouncer-keys';

const MODES: [string, 'pglite' | 'postgres', boolean][] = [
  ['embedded', 'pglite', false],
  ['PostgreSQL alone', 'postgres', false],
  ['cluster', 'postgres', true],
];

// The keys of bouncers are cached (key → hash → bouncer), so that lookups and polls cost no hashing and no
// database round trip: a deletion must still be refused by the very next request, with no time passing.
describe.each(MODES)('bouncer keys cached (%s)', (_mode, backend, cluster) => {
  let t: TestApi;
  let redis: ReturnType<typeof openTestRedis> | undefined;

  beforeAll(async () => {
    redis = cluster ? openTestRedis() : undefined;
    t = await startTestApi(
      backend,
      redis ? { REDIS_URL: process.env.TEST_REDIS_URL!, LAPI_REDIS_PREFIX: redis.prefix } : {},
    );
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await redis?.close();
  });

  const lookup = async (headers: Record<string, string>) =>
    (await t.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.1', headers })).statusCode;
  const poll = async (headers: Record<string, string>) =>
    (await t.inject({ method: 'GET', url: '/v1/decisions/stream', headers })).statusCode;

  it('refuses a deleted bouncer’s key on the next request, cached as it was', async () => {
    const headers = await t.bouncer('cached-then-deleted');
    const other = await t.bouncer('cached-and-kept');
    for (let i = 0; i < 3; i++) {
      expect(await lookup(headers)).toBe(200);
      expect(await poll(headers)).toBe(200);
      expect(await lookup(other)).toBe(200);
    }
    expect(t.api.app.get(BouncerKeys).size).toBeGreaterThanOrEqual(2);
    await t.sightingsRecorded();
    await t.admin({ op: 'bouncers.delete', name: 'cached-then-deleted' });
    expect(await lookup(headers)).toBe(403);
    expect(await poll(headers)).toBe(403);
    expect(await lookup(other)).toBe(200);
  });

  it('takes a key added again under the deleted name at once, and still refuses the old one', async () => {
    const old = await t.bouncer('reborn');
    expect(await lookup(old)).toBe(200);
    await t.sightingsRecorded();
    await t.admin({ op: 'bouncers.delete', name: 'reborn' });
    const fresh = await t.bouncer('reborn');
    expect(await lookup(fresh)).toBe(200);
    expect(await lookup(old)).toBe(403);
  });

  it('refuses a key that belongs to no bouncer, however often it is sent', async () => {
    const ghost = { 'x-api-key': 'no-such-key-0123456789abcdef', 'user-agent': 'crowdsec-firewall-bouncer/v0.0.25' };
    for (let i = 0; i < 3; i++) {
      expect(await lookup(ghost)).toBe(403);
    }
  });
});
