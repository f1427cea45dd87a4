import { TEST_BACKENDS } from '@lapi/testing';
import { AGENT_UA, cscliAlert, startTestApi, type TestApi } from '../../test/api-harness';

type Alert = Record<string, unknown> & { id: number; decisions: Record<string, unknown>[] | null };

const AGENT_START = '2026-11-28T19:29:14Z';

// The 1.4.6 agent's alert, as captured on the wire (contract §4.1), with its decisions given by cscli instead.
const agentAlert = (ip: string) => ({
  capacity: 5,
  decisions: null,
  events: [
    {
      meta: [
        { key: 'log_type', value: 'ssh_failed-auth' },
        { key: 'source_ip', value: ip },
      ],
      timestamp: '2026-11-28T19:29:14Z',
    },
  ],
  events_count: 6,
  labels: null,
  leakspeed: '10s',
  message: `Ip ${ip} performed 'crowdsecurity/ssh-bf' (6 events over 5s)`,
  remediation: true,
  scenario: 'crowdsecurity/ssh-bf',
  scenario_hash: '4441dcff07020f6690d998b7101e642359ba405c2abb83565bbbdcee36de280f',
  scenario_version: '0.1',
  simulated: false,
  source: { ip, scope: 'Ip', value: ip, as_name: 'ACME', as_number: '1234', cn: 'FR', latitude: 1.5, longitude: 0 },
  meta: [{ key: 'service', value: 'ssh' }],
  start_at: AGENT_START,
  stop_at: '2026-11-28T19:29:19.5Z',
});

describe.each(TEST_BACKENDS)('alerts over HTTP (%s)', (backend) => {
  let t: TestApi;
  let agent: Record<string, string>;
  const post = (payload: unknown, headers = agent) =>
    t.inject({ method: 'POST', url: '/v1/alerts', headers, payload: payload as object });
  const list = async (query = '') => {
    const res = await t.inject({ method: 'GET', url: `/v1/alerts${query}`, headers: agent });
    expect(res.statusCode).toBe(200);
    return res.json<Alert[] | null>();
  };

  beforeAll(async () => {
    t = await startTestApi(backend);
    agent = await t.machine('agent');
  });
  afterAll(() => t.close());

  it('stores an agent alert and returns it in the reference output form', async () => {
    const res = await post([agentAlert('198.51.100.7')]);
    expect(res.statusCode).toBe(201);
    const [id] = res.json<string[]>();
    const got = await t.inject({ method: 'GET', url: `/v1/alerts/${id}`, headers: agent });
    expect(got.statusCode).toBe(200);
    const alert = got.json<Alert>();
    expect(alert).toMatchObject({
      id: Number(id),
      machine_id: 'agent',
      scenario: 'crowdsecurity/ssh-bf',
      capacity: 5,
      events_count: 6,
      leakspeed: '10s',
      remediation: true,
      simulated: false,
      labels: null,
      start_at: '2026-11-28 19:29:14 +0000 UTC',
      stop_at: '2026-11-28 19:29:19.5 +0000 UTC',
      events: [
        {
          timestamp: '2026-11-28 19:29:14 +0000 UTC',
          meta: [
            { key: 'log_type', value: 'ssh_failed-auth' },
            { key: 'source_ip', value: '198.51.100.7' },
          ],
        },
      ],
      meta: [{ key: 'service', value: 'ssh' }],
      // longitude 0 is omitted, as Go's omitempty does.
      source: {
        scope: 'Ip',
        value: '198.51.100.7',
        ip: '198.51.100.7',
        as_name: 'ACME',
        as_number: '1234',
        cn: 'FR',
        latitude: 1.5,
      },
    });
    expect(alert.source).not.toHaveProperty('longitude');
    expect(alert.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  it('gives an agent alert without decisions the default profile ban: 4h from stop_at, origin crowdsec', async () => {
    const [id] = (await post([agentAlert('198.51.100.8')])).json<string[]>();
    const alert = (await t.inject({ method: 'GET', url: `/v1/alerts/${id}`, headers: agent })).json<Alert>();
    expect(alert.decisions).toEqual([
      expect.objectContaining({
        type: 'ban',
        scope: 'Ip',
        value: '198.51.100.8',
        origin: 'crowdsec',
        scenario: 'crowdsecurity/ssh-bf',
      }),
    ]);
    const stored = await t.api.database.db
      .selectFrom('decisions')
      .select('until')
      .where('alert_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(new Date(stored.until).toISOString()).toBe('2026-11-28T23:29:19.500Z');
  });

  it('stores an alert that no profile matches without decisions', async () => {
    const [id] = (await post([{ ...agentAlert('198.51.100.9'), remediation: false }])).json<string[]>();
    const alert = (await t.inject({ method: 'GET', url: `/v1/alerts/${id}`, headers: agent })).json<Alert>();
    expect(alert.decisions).toBeNull();
  });

  it('keeps decisions as cscli sends them, with simulated on each nested decision', async () => {
    const [id] = (await post([cscliAlert([{ value: '192.0.2.7', duration: '1h' }], { stopAt: t.clock.now() })])).json<
      string[]
    >();
    const alert = (await t.inject({ method: 'GET', url: `/v1/alerts/${id}`, headers: agent })).json<Alert>();
    expect(alert.decisions).toEqual([
      {
        duration: '1h0m0s',
        id: expect.any(Number),
        uuid: expect.any(String),
        origin: 'cscli',
        scenario: 'manual ban',
        scope: 'Ip',
        simulated: false,
        type: 'ban',
        value: '192.0.2.7',
      },
    ]);
    expect(alert.events).toBeNull();
    expect(alert).not.toHaveProperty('meta');
  });

  it('normalises scopes and stores CIDRs sent with scope Ip as ranges (cscli 1.4.6 import)', async () => {
    await post([
      cscliAlert(
        [
          { value: '10.0.0.0/24', scope: 'Ip', origin: 'cscli-import' },
          { value: '192.0.2.8', scope: 'ip' },
        ],
        { stopAt: t.clock.now() },
      ),
    ]);
    const bouncer = await t.bouncer('b');
    const found = await t.inject({ method: 'GET', url: '/v1/decisions?ip=10.0.0.9', headers: bouncer });
    expect(found.json<{ value: string }[]>().map((d) => d.value)).toEqual(['10.0.0.0/24']);
    const scoped = await t.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.8', headers: bouncer });
    expect(scoped.json<{ scope: string }[]>()[0].scope).toBe('Ip');
  });

  it('lists newest first, with the default limit of 100, 0 for all, and sort=ASC', async () => {
    const many = Array.from({ length: 105 }, (_, i) =>
      cscliAlert([{ value: `10.1.${Math.floor(i / 250)}.${i % 250}` }], { stopAt: t.clock.now() }),
    );
    await post(many);
    const page = (await list())!;
    expect(page).toHaveLength(100);
    expect(page[0].id).toBeGreaterThan(page[99].id);
    expect((await list('?limit=0'))!.length).toBeGreaterThanOrEqual(108);
    const asc = (await list('?sort=ASC&limit=2'))!;
    expect(asc[0].id).toBeLessThan(asc[1].id);
  });

  it.each([
    ['?ip=192.0.2.7', (a: Alert[]) => a.every((x) => x.decisions!.some((d) => d.value === '192.0.2.7'))],
    [
      '?scenario=crowdsecurity/ssh-bf',
      (a: Alert[]) => a.length === 3 && a.every((x) => x.scenario === 'crowdsecurity/ssh-bf'),
    ],
    ['?value=198.51.100.7&scope=ip', (a: Alert[]) => a.length === 1],
    ['?has_active_decision=false', (a: Alert[]) => a.every((x) => x.decisions === null)],
    ['?has_active_decision=true&limit=0', (a: Alert[]) => a.every((x) => x.decisions !== null)],
    ['?decision_type=captcha', (a: Alert[]) => a.length === 0],
    ['?origin=cscli-import', (a: Alert[]) => a.length === 1],
    ['?since=1h&limit=0', (a: Alert[]) => a.length === 107], // all but the agent's, which started hours ago
    // Those that started 48 h ago or more: the agent's (captured on 2026-11-28), none of those made now.
    [
      '?until=48h',
      (a: Alert[]) => a.length > 0 && a.every((x) => Date.parse(String(x.start_at)) === Date.parse(AGENT_START)),
    ],
  ])('filters %s', async (query, check) => {
    expect(check((await list(query)) ?? [])).toBe(true);
  });

  it.each([
    ['?bogus=1', "Filter parameter 'bogus' is unknown (=1): invalid filter"],
    ['?ip=1.2.3', "unable to convert '1.2.3' to int: invalid address: invalid ip address / range"],
    ['?since=xx', 'while parsing duration: time: invalid duration "xx"'],
    ['?limit=x', 'bad limit in parameters: [x]: unable to query'],
  ])('refuses %s with 400 and the reference text', async (query, message) => {
    const res = await t.inject({ method: 'GET', url: `/v1/alerts${query}`, headers: agent });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({ message });
  });

  it('answers 404 and 400 like the reference for one alert', async () => {
    const missing = await t.inject({ method: 'GET', url: '/v1/alerts/999999', headers: agent });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toEqual({ message: 'object not found' });
    const bad = await t.inject({ method: 'GET', url: '/v1/alerts/x', headers: agent });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ message: 'alert_id must be valid integer' });
  });

  it.each([
    [
      'an object instead of a list',
      {},
      400,
      'json: cannot unmarshal object into Go value of type models.AddAlertsRequest',
    ],
    ['a missing field', [{ scenario: 'x' }], 422, /^validation failure list:\n0\.scenario_hash in body is required/],
    [
      'a bad duration',
      [cscliAlert([{ value: '1.2.3.4', duration: '1x' }], { stopAt: new Date() })],
      400,
      /duration '1x'/,
    ],
    ['a bad IP', [cscliAlert([{ value: 'notanip' }], { stopAt: new Date() })], 400, /'notanip' is not a valid IP/],
  ])('refuses %s', async (_case, payload, status, message) => {
    const res = await post(payload);
    expect(res.statusCode).toBe(status);
    expect(res.json<{ message: string }>().message).toMatch(message);
  });

  it('needs a machine token', async () => {
    const res = await t.inject({ method: 'POST', url: '/v1/alerts', payload: [], headers: { 'user-agent': AGENT_UA } });
    expect(res.statusCode).toBe(401);
  });

  it('deletes alerts only from trusted IPs, by filter or by id', async () => {
    const untrusted = await t.inject({
      method: 'DELETE',
      url: '/v1/alerts?limit=0',
      headers: agent,
      remoteAddress: '10.9.9.9',
    });
    expect(untrusted.statusCode).toBe(403);
    expect(untrusted.json()).toEqual({ message: 'access forbidden from this IP (10.9.9.9)' });

    const byFilter = await t.inject({ method: 'DELETE', url: '/v1/alerts?ip=192.0.2.7&limit=0', headers: agent });
    expect(byFilter.json()).toEqual({ nbDeleted: '1' });
    const unknown = await t.inject({ method: 'DELETE', url: '/v1/alerts/999999', headers: agent });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ message: 'ent: alert not found' });
    const all = await t.inject({ method: 'DELETE', url: '/v1/alerts?limit=0', headers: agent });
    expect(Number(all.json<{ nbDeleted: string }>().nbDeleted)).toBeGreaterThan(100);
    expect(await list()).toBeNull();
  });

  it('records each accepted alert as one event with its decisions', async () => {
    const rows = await t.api.database.db
      .selectFrom('events')
      .select(['type', 'data'])
      .where('type', '=', 'AlertReceived')
      .execute();
    expect(rows.length).toBeGreaterThan(100);
  });
});
