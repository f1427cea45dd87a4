import { PostgresEventStore } from '@lapi/event-store';
import {
  decisionKeys,
  LocalLease,
  Projector,
  RedisDecisionsTarget,
  redisKeys,
  serveMetrics,
  serveMetricsIfFree,
  type MetricsServer,
} from '@lapi/read-models';
import { openTestRedis } from '@lapi/testing';
import { cscliAlert, startTestApi, type TestApi } from '../../test/api-harness';

/** The samples of a text exposition: `name{a="x",b="y"}` → value. */
function parseExposition(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (m) {
      samples.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
    }
  }
  return samples;
}

const sample = (name: string, labels: Record<string, string> = {}) => {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return text ? `${name}{${text}}` : name;
};

/** The metrics listener main.ts starts (LAPI_METRICS_LISTEN_URI), on a free port. */
const listen = (api: TestApi) => serveMetrics(api.api.metrics, { host: '127.0.0.1', port: 0 });

async function scrape(server: MetricsServer): Promise<Map<string, number>> {
  const res = await fetch(server.url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseExposition(await res.text());
}

describe('GET /metrics on the metrics listener: the reference LAPI metrics, moved by traffic', () => {
  let api: TestApi;
  let server: MetricsServer;
  let metrics: Map<string, number>;

  beforeAll(async () => {
    api = await startTestApi('postgres');
    server = await listen(api);
    const agent = await api.machine('agent');
    const bouncer = await api.bouncer('fw');
    const push = await api.inject({
      method: 'POST',
      url: '/v1/alerts',
      headers: agent,
      payload: [
        cscliAlert([{ value: '192.0.2.1' }, { value: '192.0.2.2' }, { value: '192.0.2.3', type: 'captcha' }], {
          stopAt: api.clock.now(),
        }),
      ],
    });
    expect(push.statusCode).toBe(201);
    await api.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.1', headers: bouncer });
    await api.inject({ method: 'GET', url: '/v1/decisions?ip=198.51.100.7', headers: bouncer });
    await api.inject({ method: 'GET', url: '/v1/decisions?ip=198.51.100.8', headers: bouncer });
    await api.inject({ method: 'GET', url: '/v1/decisions/stream?startup=true', headers: bouncer });
    await api.inject({ method: 'GET', url: '/v1/decisions/stream', headers: bouncer });
    await api.inject({ method: 'DELETE', url: '/v1/decisions/424242', headers: agent });
    await api.inject({ method: 'GET', url: '/v1/nothing-here' });
    await api.inject({ method: 'GET', url: '/v1/decisions', headers: { 'x-api-key': 'wrong-key-0123456789' } });
    metrics = await scrape(server);
  });

  afterAll(async () => {
    await server.close();
    await api.close();
  });

  it('is not on the API port: /metrics there is an unknown route (404, empty body as gin), naming nobody', async () => {
    const unknown = await api.inject({ method: 'GET', url: '/v1/nothing-here' });
    for (const method of ['GET', 'HEAD'] as const) {
      const res = await api.inject({ method, url: '/metrics' });
      expect(res.statusCode).toBe(404);
      expect(res.body).toBe(unknown.body);
      expect(res.body).not.toMatch(/agent|fw|cs_lapi/);
    }
  });

  it('counts each route by its pattern and method, unmatched paths as invalid-endpoint', () => {
    expect(metrics.get(sample('cs_lapi_route_requests_total', { route: '/v1/decisions', method: 'GET' }))).toBe(4);
    expect(
      metrics.get(sample('cs_lapi_route_requests_total', { route: '/v1/decisions/:decision_id', method: 'DELETE' })),
    ).toBe(1);
    expect(metrics.get(sample('cs_lapi_route_requests_total', { route: '/v1/alerts', method: 'POST' }))).toBe(1);
    expect(metrics.get(sample('cs_lapi_route_requests_total', { route: 'invalid-endpoint', method: 'GET' }))).toBe(1);
    expect([...metrics.keys()].filter((k) => k.includes('/metrics'))).toEqual([]);
    expect(
      metrics.get(sample('cs_lapi_request_duration_seconds_count', { endpoint: '/v1/decisions', method: 'GET' })),
    ).toBe(4);
    expect(
      metrics.get(
        sample('cs_lapi_request_duration_seconds_bucket', { le: '+Inf', endpoint: '/v1/decisions', method: 'GET' }),
      ),
    ).toBe(4);
  });

  it('counts authenticated requests per machine and per bouncer (a refused key counts for no bouncer)', () => {
    expect(
      metrics.get(sample('cs_lapi_machine_requests_total', { machine: 'agent', route: '/v1/alerts', method: 'POST' })),
    ).toBe(1);
    expect(
      metrics.get(
        sample('cs_lapi_machine_requests_total', {
          machine: 'agent',
          route: '/v1/decisions/:decision_id',
          method: 'DELETE',
        }),
      ),
    ).toBe(1);
    expect(
      metrics.get(sample('cs_lapi_bouncer_requests_total', { bouncer: 'fw', route: '/v1/decisions', method: 'GET' })),
    ).toBe(3);
    expect(
      metrics.get(
        sample('cs_lapi_bouncer_requests_total', { bouncer: 'fw', route: '/v1/decisions/stream', method: 'GET' }),
      ),
    ).toBe(2);
    expect([...metrics.keys()].filter((k) => k.startsWith('cs_lapi_bouncer_requests_total'))).toHaveLength(2);
  });

  it('counts live lookups that found decisions (ok) and found none (ko) per bouncer', () => {
    expect(metrics.get(sample('cs_lapi_decisions_ok_total', { bouncer: 'fw' }))).toBe(1);
    expect(metrics.get(sample('cs_lapi_decisions_ko_total', { bouncer: 'fw' }))).toBe(2);
    expect(metrics.get('lapi_decision_lookups_total')).toBe(3);
  });

  it('gives the active decisions and the alerts as the reference gauges do', () => {
    expect(metrics.get(sample('cs_active_decisions', { reason: 'manual ban', origin: 'cscli', action: 'ban' }))).toBe(
      2,
    );
    expect(
      metrics.get(sample('cs_active_decisions', { reason: 'manual ban', origin: 'cscli', action: 'captcha' })),
    ).toBe(1);
    expect(metrics.get(sample('cs_alerts', { reason: 'manual ban' }))).toBe(1);
  });

  it('gives our own: stream answer sizes, the log head', () => {
    expect(metrics.get(sample('lapi_stream_delta_decisions_sum', { startup: 'true' }))).toBe(3);
    expect(metrics.get(sample('lapi_stream_delta_decisions_count', { startup: 'false' }))).toBe(1);
    expect(metrics.get(sample('lapi_stream_delta_decisions_sum', { startup: 'false' }))).toBe(0);
    expect(metrics.get('lapi_event_log_head_position')).toBeGreaterThan(0);
    // Outside a cluster every projection is applied in the writing transaction: nothing lags, no barrier.
    expect([...metrics.keys()].filter((k) => k.startsWith('lapi_projection_lag_events'))).toEqual([]);
  });

  it('answers 404 to anything but GET or HEAD /metrics', async () => {
    expect((await fetch(server.url.replace(/\/metrics$/, '/v1/decisions'))).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(404);
    expect((await fetch(server.url, { method: 'HEAD' })).status).toBe(200);
  });

  it('goes without metrics, with a warning, when its address is taken (replicas on one host)', async () => {
    const warnings: string[] = [];
    const second = await serveMetricsIfFree(api.api.metrics, { host: '127.0.0.1', port: server.port }, (m) =>
      warnings.push(m),
    );
    expect(second).toBeUndefined();
    expect(warnings).toEqual([expect.stringContaining(`127.0.0.1:${server.port} is in use`)]);
    // The first one still answers.
    expect((await fetch(server.url)).status).toBe(200);
  });

  it('is served without authentication, and moves with the next requests', async () => {
    const bouncer = await api.bouncer('fw2');
    await api.inject({ method: 'HEAD', url: '/v1/decisions?ip=192.0.2.2', headers: bouncer });
    const next = await scrape(server);
    expect(next.get(sample('cs_lapi_decisions_ok_total', { bouncer: 'fw2' }))).toBe(1);
    expect(
      next.get(sample('cs_lapi_bouncer_requests_total', { bouncer: 'fw2', route: '/v1/decisions', method: 'HEAD' })),
    ).toBe(1);
  });
});

describe('GET /metrics in cluster mode: active decisions from the replica, lag and read-your-writes waits', () => {
  let redis: ReturnType<typeof openTestRedis>;
  let api: TestApi;
  let server: MetricsServer;
  let running = true;
  let loop: Promise<void>;

  beforeAll(async () => {
    redis = openTestRedis();
    api = await startTestApi('postgres', { REDIS_URL: process.env.TEST_REDIS_URL!, LAPI_REDIS_PREFIX: redis.prefix });
    server = await listen(api);
    const projector = new Projector(
      new PostgresEventStore(api.api.database.db),
      new RedisDecisionsTarget(redis.redis, decisionKeys(redisKeys(redis.prefix).decisions)),
      new LocalLease('test-worker'),
    );
    loop = (async () => {
      while (running) {
        if ((await projector.step()).applied === 0) {
          await new Promise((r) => setTimeout(r, 10));
        }
      }
    })();
  });

  afterAll(async () => {
    running = false;
    await loop;
    await server.close();
    await api.close();
    await redis.close();
  });

  it('reports what was added, how long writes waited, and how far the projection is behind the log', async () => {
    const agent = await api.machine('agent');
    for (const value of ['198.51.100.1', '198.51.100.2']) {
      const push = await api.inject({
        method: 'POST',
        url: '/v1/alerts',
        headers: agent,
        payload: [
          cscliAlert([{ value, scenario: 'crowdsecurity/ssh-bf', origin: 'crowdsec' }], {
            stopAt: api.clock.now(),
            scenario: 'crowdsecurity/ssh-bf',
          }),
        ],
      });
      expect(push.statusCode).toBe(201);
    }
    const metrics = await scrape(server);
    expect(
      metrics.get(sample('cs_active_decisions', { reason: 'crowdsecurity/ssh-bf', origin: 'crowdsec', action: 'ban' })),
    ).toBe(2);
    expect(metrics.get(sample('cs_alerts', { reason: 'crowdsecurity/ssh-bf' }))).toBe(2);
    // Each write waited for the projection before its answer.
    expect(metrics.get('lapi_read_your_writes_wait_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(metrics.get(sample('lapi_read_your_writes_wait_seconds_bucket', { le: '2' }))).toBe(
      metrics.get('lapi_read_your_writes_wait_seconds_count'),
    );
    expect(metrics.get('lapi_read_your_writes_timeouts_total')).toBe(0);
    const head = metrics.get('lapi_event_log_head_position')!;
    expect(head).toBeGreaterThan(0);
    const lag = metrics.get(sample('lapi_projection_lag_events', { projection: 'decisions' }));
    expect(lag).toBeGreaterThanOrEqual(0);
    expect(lag).toBeLessThanOrEqual(head);
  });
});
