import type { StoredUsageReport } from '@lapi/read-models';
import { startTestApi, type TestApi } from '../../api/test/api-harness';
import { usageJson, usageTables } from './usage-metrics';

// Reports posted over HTTP, read back with the admin request `lapi metrics` sends, rendered as it prints them.
// Bodies from the reference's test/bats/08_metrics_bouncer.bats ("multiple bouncers").
describe('lapi metrics: usage reports as cscli metrics shows bouncers', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi('pglite');
  });
  afterAll(() => api.close());

  const post = async (headers: Record<string, string>, body: unknown) => {
    const res = await api.inject({ method: 'POST', url: '/v1/usage-metrics', headers, payload: body as object });
    expect(res.statusCode).toBe(201);
  };
  const component = (at: number, items: unknown[]) => ({
    remediation_components: [
      {
        version: 'v1.0',
        utc_startup_timestamp: 1707369316,
        metrics: [{ meta: { utc_now_timestamp: at, window_size_seconds: 600 }, items }],
      },
    ],
  });

  it('prints a table per bouncer, a row per origin, totals; -o json as cscli', async () => {
    expect(usageTables((await api.admin({ op: 'metrics.usage' })) as StoredUsageReport[])).toBe(
      'No usage metrics found.',
    );
    await post(
      await api.bouncer('bouncer1'),
      component(1707399316, [
        { name: 'dropped', unit: 'byte', value: 1000, labels: { origin: 'CAPI' } },
        { name: 'dropped', unit: 'byte', value: 800, labels: { origin: 'lists:somelist' } },
        { name: 'processed', unit: 'byte', value: 12340 },
        { name: 'processed', unit: 'packet', value: 100 },
      ]),
    );
    await post(
      await api.bouncer('bouncer2'),
      component(1707389316, [
        { name: 'dropped', unit: 'byte', value: 1500, labels: { origin: 'lists:somelist' } },
        { name: 'dropped', unit: 'byte', value: 2000, labels: { origin: 'CAPI' } },
        { name: 'dropped', unit: 'packet', value: 20, labels: { origin: 'lists:somelist' } },
      ]),
    );
    const reports = (await api.admin({ op: 'metrics.usage' })) as StoredUsageReport[];
    expect(usageJson(reports)).toEqual({
      bouncers: {
        bouncer1: {
          '': { processed: { byte: 12340, packet: 100 } },
          CAPI: { dropped: { byte: 1000 } },
          'lists:somelist': { dropped: { byte: 800 } },
        },
        bouncer2: { 'lists:somelist': { dropped: { byte: 1500, packet: 20 } }, CAPI: { dropped: { byte: 2000 } } },
      },
      machines: {},
    });
    expect(usageTables(reports)).toBe(
      [
        'Bouncer Metrics (bouncer1) since 2024-02-08T13:35:16.000Z:',
        '--------------------------  ---------------  -----------------  -------------------',
        'Origin                      dropped (bytes)  processed (bytes)  processed (packets)',
        '--------------------------  ---------------  -----------------  -------------------',
        'CAPI (community blocklist)  1000             -                  -',
        'lists:somelist              800              -                  -',
        'Total                       1800             12340              100',
        '--------------------------  ---------------  -----------------  -------------------',
        '',
        'Bouncer Metrics (bouncer2) since 2024-02-08T10:48:36.000Z:',
        '--------------------------  ---------------  -----------------',
        'Origin                      dropped (bytes)  dropped (packets)',
        '--------------------------  ---------------  -----------------',
        'CAPI (community blocklist)  2000             -',
        'lists:somelist              1500             20',
        'Total                       3500             20',
        '--------------------------  ---------------  -----------------',
      ].join('\n'),
    );
  });
});
