import { serveMetrics, type MetricsServer } from '@lapi/read-models';
import { startTestApi, type TestApi } from '../../test/api-harness';

// Usage reports (POST /v1/usage-metrics) exported as one gauge family: each component's latest window.
describe('GET /metrics: lapi_usage_metrics from the latest usage reports', () => {
  let api: TestApi;
  let server: MetricsServer;
  beforeAll(async () => {
    api = await startTestApi('pglite');
    server = await serveMetrics(api.api.metrics, { host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await server.close();
    await api.close();
  });

  const report = (at: number, dropped: number) => ({
    remediation_components: [
      {
        version: 'v0.0.31',
        utc_startup_timestamp: 1764355000,
        metrics: [
          {
            meta: { window_size_seconds: 900, utc_now_timestamp: at },
            items: [
              { name: 'dropped', value: dropped, unit: 'packet', labels: { origin: 'CAPI', ip_type: 'ipv4' } },
              { name: 'dropped', value: 1, unit: 'packet', labels: { origin: 'CAPI', ip_type: 'ipv4' } },
            ],
          },
        ],
      },
    ],
  });

  it("exports the newest report's values by component, metric, unit, origin and IP type", async () => {
    const fw = await api.bouncer('fw1');
    for (const [at, dropped] of [
      [1764355000, 100],
      [1764355900, 12],
    ]) {
      api.clock.advance(1_000);
      const res = await api.inject({
        method: 'POST',
        url: '/v1/usage-metrics',
        headers: fw,
        payload: report(at, dropped),
      });
      expect(res.statusCode).toBe(201);
    }
    const text = await (await fetch(server.url)).text();
    expect(text.split('\n').filter((l) => l.startsWith('lapi_usage_metrics{'))).toEqual([
      'lapi_usage_metrics{kind="bouncer",component="fw1",metric="dropped",unit="packet",origin="CAPI",ip_type="ipv4"} 13',
    ]);
  });
});
