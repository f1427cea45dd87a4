import { cscliAlert, startTestApi, type TestApi } from '../../test/api-harness';
import { RetentionTimer } from './retention-timer';

const HOUR = 3_600_000;

describe('retention in the API process (no Redis, as in embedded mode)', () => {
  let t: TestApi;
  afterEach(() => t.close());

  it('flushes old alerts but the one still banning, and deletes a bouncer that stopped pulling', async () => {
    t = await startTestApi('pglite', { LAPI_FLUSH_MAX_AGE: '1h', LAPI_BOUNCERS_AUTODELETE_API_KEY: '30m' });
    const machine = await t.machine('agent');
    const headers = { ...machine, 'user-agent': 'crowdsec/v1.4.6' };
    const stopAt = t.clock.now();
    for (const [value, duration] of [
      ['192.0.2.1', '30m'],
      ['192.0.2.2', '4h'],
    ]) {
      const res = await t.inject({
        method: 'POST',
        url: '/v1/alerts',
        headers,
        payload: [cscliAlert([{ value, duration }], { stopAt })],
      });
      expect(res.statusCode).toBe(201);
    }
    const bouncer = await t.bouncer('fw');
    expect(
      (await t.inject({ method: 'GET', url: '/v1/decisions/stream?startup=true', headers: bouncer })).statusCode,
    ).toBe(200);

    t.clock.advance(2 * HOUR);
    await t.api.app.get(RetentionTimer).tick();

    const alerts = await t.inject({ method: 'GET', url: '/v1/alerts', headers });
    expect(alerts.json<{ source: { value: string } }[]>().map((a) => a.source.value)).toEqual(['192.0.2.2']);
    expect((await t.inject({ method: 'GET', url: '/v1/decisions', headers: bouncer })).statusCode).toBe(403);
  });

  it('flushes and deletes nothing unless configured', async () => {
    t = await startTestApi('pglite');
    const headers = { ...(await t.machine('agent')), 'user-agent': 'crowdsec/v1.4.6' };
    const payload = [cscliAlert([{ value: '192.0.2.1', duration: '1m' }], { stopAt: t.clock.now() })];
    expect((await t.inject({ method: 'POST', url: '/v1/alerts', headers, payload })).statusCode).toBe(201);

    t.clock.advance(1000 * 24 * HOUR);
    await t.api.app.get(RetentionTimer).tick();

    expect((await t.inject({ method: 'GET', url: '/v1/alerts', headers })).json()).toHaveLength(1);
  });
});
