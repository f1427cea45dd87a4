import { AllowlistedValueError } from '@lapi/domain';
import { cscliAlert, pullStream, pushBans, startTestApi, type TestApi } from '../../test/api-harness';
import { DECISION_MODES, startApiIn } from '../../test/decision-modes';

const HOUR = 3_600_000;
const GO_ZERO_TIME = '0001-01-01T00:00:00.000Z';

/** An agent's alert without decisions (the profiles make them) from this source IP. */
const agentAlert = (ip: string, at: Date) => {
  const { decisions: _none, ...alert } = cscliAlert([{ value: ip }], { stopAt: at, scenario: 'crowdsecurity/ssh-bf' });
  return { ...alert, decisions: null };
};

describe('allowlists over HTTP (contract §3.15)', () => {
  let api: TestApi;
  let agent: { authorization: string };
  let created: string;

  beforeAll(async () => {
    api = await startTestApi('postgres');
    agent = await api.machine('agent');
    created = api.clock.now().toISOString();
    await api.admin({ op: 'allowlists.create', name: 'my_list', description: 'office' });
    await api.admin({
      op: 'allowlists.add',
      name: 'my_list',
      items: [
        { value: '1.2.3.0/24', description: 'office', expiresAt: null },
        { value: '2001:db8::1', description: '', expiresAt: new Date(api.clock.now().getTime() + HOUR).toISOString() },
      ],
    });
    await api.admin({ op: 'allowlists.create', name: 'other', description: '' });
    await api.admin({
      op: 'allowlists.add',
      name: 'other',
      items: [{ value: '1.2.3.4', description: 'gateway', expiresAt: null }],
    });
  });
  afterAll(() => api.close());

  const get = (url: string, method: 'GET' | 'HEAD' = 'GET') => api.inject({ method, url, headers: agent });

  it('lists allowlists, their items only with_content, as go-swagger serialises them', async () => {
    const bare = await get('/v1/allowlists');
    expect(bare.statusCode).toBe(200);
    expect(bare.body).toBe(
      `[{"created_at":"${created}","description":"office","items":[],"name":"my_list","updated_at":"${created}"},` +
        `{"created_at":"${created}","items":[],"name":"other","updated_at":"${created}"}]`,
    );
    const full = await get('/v1/allowlists?with_content=true');
    const expiry = new Date(Date.parse(created) + HOUR).toISOString();
    expect(full.body).toBe(
      `[{"created_at":"${created}","description":"office","items":[` +
        `{"created_at":"${created}","description":"office","expiration":"${GO_ZERO_TIME}","value":"1.2.3.0/24"},` +
        `{"created_at":"${created}","expiration":"${expiry}","value":"2001:db8::1"}` +
        `],"name":"my_list","updated_at":"${created}"},` +
        `{"created_at":"${created}","items":[{"created_at":"${created}","description":"gateway",` +
        `"expiration":"${GO_ZERO_TIME}","value":"1.2.3.4"}],"name":"other","updated_at":"${created}"}]`,
    );
  });

  it('answers one allowlist, 404 for an unknown one', async () => {
    const one = await get('/v1/allowlists/other?with_content=true');
    expect(one.statusCode).toBe(200);
    expect(one.json()).toEqual({
      created_at: created,
      items: [{ created_at: created, description: 'gateway', expiration: GO_ZERO_TIME, value: '1.2.3.4' }],
      name: 'other',
      updated_at: created,
    });
    const unknown = await get('/v1/allowlists/nope');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.body).toBe(`{"message":"allowlist 'nope' not found"}`);
    expect((await get('/v1/allowlists/nope', 'HEAD')).statusCode).toBe(404);
  });

  it('checks one value: reasons sorted by list and joined; HEAD 200 or 204; bad value 400', async () => {
    const hit = await get('/v1/allowlists/check/1.2.3.4');
    expect(hit.statusCode).toBe(200);
    expect(hit.body).toBe(
      `{"allowlisted":true,"reason":"1.2.3.0/24 from my_list (office), 1.2.3.4 from other (gateway)"}`,
    );
    // A range holding an allowlisted item is allowlisted too.
    expect((await get('/v1/allowlists/check/2001:db8::%2F64')).json()).toEqual({
      allowlisted: true,
      reason: '2001:db8::1 from my_list',
    });
    const miss = await get('/v1/allowlists/check/5.6.7.8');
    expect(miss.statusCode).toBe(200);
    expect(miss.body).toBe('{}');
    expect((await get('/v1/allowlists/check/1.2.3.9', 'HEAD')).statusCode).toBe(200);
    expect((await get('/v1/allowlists/check/5.6.7.8', 'HEAD')).statusCode).toBe(204);
    const bad = await get('/v1/allowlists/check/not-an-ip');
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ message: "unable to parse value 'not-an-ip': not an IP address or a CIDR range" });
  });

  it('checks many values at once, listing only the allowlisted ones', async () => {
    const res = await api.inject({
      method: 'POST',
      url: '/v1/allowlists/check',
      headers: agent,
      payload: { targets: ['1.2.3.7', '10.0.0.0/8', '2001:db8::1'] },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe(
      '{"results":[{"allowlists":["1.2.3.0/24 from my_list (office)"],"target":"1.2.3.7"},' +
        '{"allowlists":["2001:db8::1 from my_list"],"target":"2001:db8::1"}]}',
    );
    for (const payload of [{ targets: [] }, {}]) {
      const empty = await api.inject({ method: 'POST', url: '/v1/allowlists/check', headers: agent, payload });
      expect(empty.statusCode).toBe(400);
      expect(empty.body).toBe('{"message":"targets list cannot be empty"}');
    }
    const bad = await api.inject({
      method: 'POST',
      url: '/v1/allowlists/check',
      headers: agent,
      payload: { targets: ['1.2.3.4', 'x'] },
    });
    expect(bad.statusCode).toBe(400);
  });

  it('needs a machine token', async () => {
    expect((await api.inject({ method: 'GET', url: '/v1/allowlists' })).statusCode).toBe(401);
  });

  it('omits expired items and stops matching them', async () => {
    api.clock.advance(2 * HOUR);
    try {
      const list = (await get('/v1/allowlists/my_list?with_content=true')).json<{ items: { value: string }[] }>();
      expect(list.items.map((i) => i.value)).toEqual(['1.2.3.0/24']);
      expect((await get('/v1/allowlists/check/2001:db8::1')).body).toBe('{}');
    } finally {
      api.clock.advance(-2 * HOUR);
    }
  });

  it('drops an alert without decisions whose source is allowlisted: no id, nothing stored', async () => {
    const at = api.clock.now();
    const res = await api.inject({
      method: 'POST',
      url: '/v1/alerts',
      headers: agent,
      payload: [agentAlert('1.2.3.10', at), agentAlert('9.9.9.9', at), agentAlert('1.2.3.11', at)],
    });
    expect(res.statusCode).toBe(201);
    const ids = res.json<string[]>();
    expect(ids).toHaveLength(1);
    const stored = await get('/v1/alerts?ip=1.2.3.10');
    expect(stored.body).toBe('null'); // GET /v1/alerts answers null when nothing matches
    const only = await api.inject({
      method: 'POST',
      url: '/v1/alerts',
      headers: agent,
      payload: [agentAlert('1.2.3.12', at)],
    });
    expect(only.statusCode).toBe(201);
    expect(only.body).toBe('[]');
  });

  it('strips decisions on allowlisted values from incoming alerts', async () => {
    const res = await api.inject({
      method: 'POST',
      url: '/v1/alerts',
      headers: agent,
      payload: [
        cscliAlert([{ value: '7.7.7.7' }, { value: '1.2.3.20' }, { value: '1.2.0.0/16', scope: 'range' }], {
          stopAt: api.clock.now(),
        }),
      ],
    });
    expect(res.statusCode).toBe(201);
    const [id] = res.json<string[]>();
    const alert = (await get(`/v1/alerts/${id}`)).json<{ decisions: { value: string }[] }>();
    expect(alert.decisions.map((d) => d.value)).toEqual(['7.7.7.7']);
  });

  it('refuses `lapi decisions add` on an allowlisted value', async () => {
    await expect(api.admin({ op: 'decisions.add', decision: { ip: '1.2.3.30' } })).rejects.toThrow(
      new AllowlistedValueError('1.2.3.30', '1.2.3.0/24 from my_list (office)'),
    );
    await expect(api.admin({ op: 'decisions.add', decision: { ip: '8.8.4.4' } })).resolves.toEqual(expect.any(String));
  });
});

describe.each(DECISION_MODES)('adding an allowlist item deletes the decisions it covers (%s)', (mode) => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startApiIn(mode);
  });
  afterAll(() => api.close());

  it('bouncers get them in `deleted`; other decisions stay', async () => {
    const agent = await api.machine('agent');
    const bouncer = await api.bouncer('fw');
    await pushBans(api, agent, ['192.0.2.1', '192.0.2.2', '198.51.100.7']);
    const first = await pullStream(api, bouncer, '?startup=true');
    expect(first.new?.map((d) => d.value).sort()).toEqual(['192.0.2.1', '192.0.2.2', '198.51.100.7']);
    await api.admin({ op: 'allowlists.create', name: 'partners', description: '' });
    const result = await api.admin({
      op: 'allowlists.add',
      name: 'partners',
      items: [{ value: '192.0.2.0/24', description: '', expiresAt: null }],
    });
    expect(result).toEqual({ added: 1, decisionsDeleted: 2 });
    let deleted: string[] = [];
    for (let i = 0; i < 50 && deleted.length === 0; i++) {
      const next = await pullStream(api, bouncer);
      deleted = (next.deleted ?? []).map((d) => d.value).sort();
      if (deleted.length === 0) {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(deleted).toEqual(['192.0.2.1', '192.0.2.2']);
    const live = await api.inject({ method: 'GET', url: '/v1/decisions', headers: bouncer });
    expect(live.json<{ value: string }[]>().map((d) => d.value)).toEqual(['198.51.100.7']);
  });
});
