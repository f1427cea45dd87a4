import type { StoredUsageReport } from '@lapi/read-models';
import { TEST_BACKENDS } from '@lapi/testing';
import { startTestApi, type TestApi } from '../../test/api-harness';

// Bodies from the reference's own tests (test/bats/08_metrics_bouncer.bats, 08_metrics_machines.bats) and the
// contract's example (LAPI-CONTRACT.md §3.14): no 1.6+ client is installable here.
const bouncerReport = {
  remediation_components: [
    {
      version: 'v0.0.31',
      type: 'crowdsec-firewall-bouncer',
      os: { name: 'debian', version: '12' },
      feature_flags: [],
      utc_startup_timestamp: 1764355000,
      metrics: [
        {
          meta: { window_size_seconds: 900, utc_now_timestamp: 1764355900 },
          items: [
            { name: 'dropped', value: 12, unit: 'packet', labels: { origin: 'CAPI', ip_type: 'ipv4' } },
            { name: 'active_decisions', value: 500, unit: 'ip', labels: { origin: 'CAPI', ip_type: 'ipv4' } },
          ],
        },
      ],
    },
  ],
};

const agentReport = {
  remediation_components: [],
  log_processors: [
    {
      version: 'v1.7.0',
      utc_startup_timestamp: 1707399316,
      hub_items: { parsers: [{ name: 'crowdsecurity/sshd-logs', version: '2.9', status: 'official' }] },
      feature_flags: ['marshmallows'],
      os: { name: 'CentOS', version: '8' },
      metrics: [
        {
          meta: { window_size_seconds: 600, utc_now_timestamp: 1707485349 },
          items: [{ name: 'logs_parsed', value: 5000, unit: 'count', labels: {} }],
        },
      ],
      console_options: ['share_context'],
      datasources: { syslog: 1, file: 4 },
    },
  ],
};

describe.each(TEST_BACKENDS)('POST /v1/usage-metrics (%s)', (backend) => {
  let api: TestApi;
  let bouncer: Record<string, string>;
  let agent: Record<string, string>;
  const post = (headers: Record<string, string>, payload: unknown) =>
    api.inject({ method: 'POST', url: '/v1/usage-metrics', headers, payload: payload as object });
  const stored = async () => (await api.admin({ op: 'metrics.usage' })) as StoredUsageReport[];

  beforeAll(async () => {
    api = await startTestApi(backend);
    bouncer = await api.bouncer('fw1');
    agent = await api.machine('agent1');
  });
  afterAll(() => api.close());

  it("stores a bouncer's report under its name: 201, empty body", async () => {
    const res = await post(bouncer, bouncerReport);
    expect(res.statusCode).toBe(201);
    expect(res.body).toBe('');
    expect(await stored()).toEqual([
      {
        kind: 'bouncer',
        name: 'fw1',
        receivedAt: api.clock.now().toISOString(),
        report: bouncerReport.remediation_components[0],
      },
    ]);
  });

  it("stores a machine's report (JWT) under its id", async () => {
    const res = await post(agent, agentReport);
    expect(res.statusCode).toBe(201);
    expect((await stored()).find((r) => r.kind === 'machine')).toMatchObject({
      name: 'agent1',
      report: { version: 'v1.7.0', datasources: { syslog: 1, file: 4 } },
    });
  });

  it('answers the reference 400s for the wrong section, none, or more than one item', async () => {
    const cases: [Record<string, string>, unknown, string][] = [
      [bouncer, { remediation_components: [], log_processors: [] }, 'Missing remediation component data'],
      [agent, { remediation_components: [], log_processors: [] }, 'Missing log processor data'],
      [agent, bouncerReport, 'Missing log processor data'],
      [
        bouncer,
        { remediation_components: [...bouncerReport.remediation_components, ...bouncerReport.remediation_components] },
        'Payload has more than one remediation component',
      ],
      [bouncer, { ...bouncerReport, log_processors: agentReport.log_processors }, 'Payload has both LP and RC data'],
    ];
    for (const [headers, body, message] of cases) {
      const res = await post(headers, body);
      expect({ status: res.statusCode, body: res.json() }).toEqual({ status: 400, body: { message } });
    }
  });

  it("answers 422 with go-swagger's message for a schema-invalid report", async () => {
    const missing = await post(bouncer, { remediation_components: [{ version: 'v1.0' }], log_processors: [] });
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toEqual({
      message: 'validation failure list:\nremediation_components.0.utc_startup_timestamp in body is required',
    });
    const agentMissing = await post(agent, { remediation_components: [], log_processors: [{ version: 'v1.0' }] });
    expect(agentMissing.statusCode).toBe(422);
    expect(agentMissing.json<{ message: string }>().message.split('\n').sort()).toEqual(
      [
        'validation failure list:',
        'log_processors.0.utc_startup_timestamp in body is required',
        'log_processors.0.hub_items in body is required',
        'log_processors.0.datasources in body is required',
      ].sort(),
    );
    const noItems = await post(bouncer, {
      remediation_components: [{ version: 'v1.0', utc_startup_timestamp: 1707399316, metrics: [{ meta: {} }] }],
    });
    expect(noItems.statusCode).toBe(422);
    expect(noItems.json<{ message: string }>().message).toContain(
      'remediation_components.0.metrics.0.items in body is required',
    );
  });

  it('bounds what one report may hold: 422 past the item count, 413 past 1 MiB', async () => {
    const items = Array.from({ length: 1_001 }, (_, i) => ({ name: 'dropped', value: i, unit: 'packet' }));
    const many = await post(bouncer, {
      remediation_components: [
        {
          version: 'v1',
          utc_startup_timestamp: 1,
          metrics: [{ meta: { window_size_seconds: 1, utc_now_timestamp: 1 }, items }],
        },
      ],
    });
    expect(many.statusCode).toBe(422);
    expect(many.json()).toEqual({
      message:
        'validation failure list:\nremediation_components.0.metrics.0.items in body should have at most 1000 items',
    });
    const huge = await api.inject({
      method: 'POST',
      url: '/v1/usage-metrics',
      headers: { ...bouncer, 'content-type': 'application/json' },
      payload: JSON.stringify({ ...bouncerReport, padding: 'x'.repeat(1024 * 1024) }),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json<{ message: string }>().message).toEqual(expect.any(String));
  });

  it('refuses a bad key with 403 and a bad token with 401, storing nothing', async () => {
    const before = (await stored()).length;
    const badKey = await post({ 'x-api-key': 'not-a-key' }, bouncerReport);
    expect(badKey.statusCode).toBe(403);
    expect(badKey.json()).toEqual({ message: 'access forbidden' });
    const none = await post({}, bouncerReport);
    expect(none.statusCode).toBe(403);
    const badToken = await post({ authorization: 'Bearer not.a.token' }, agentReport);
    expect(badToken.statusCode).toBe(401);
    expect(badToken.json()).toMatchObject({ code: 401 });
    expect((await stored()).length).toBe(before);
  });

  it('keeps a report for LAPI_METRICS_MAX_AGE (7 days): expired ones go when the next report comes', async () => {
    api.clock.advance(7 * 24 * 60 * 60_000 + 1_000);
    expect(await stored()).toEqual([]);
    expect((await post(bouncer, bouncerReport)).statusCode).toBe(201);
    const rows = await api.api.database.db.selectFrom('usage_metrics').select('name').execute();
    expect(rows).toEqual([{ name: 'fw1' }]);
  });
});
