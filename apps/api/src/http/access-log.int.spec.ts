import { startTestApi, type TestApi } from '../../test/api-harness';

// Secrets a client sends or the server is configured with; none may reach a log line.
const REGISTER_PASSWORD = 'Register-Pa55word-never-logged';
const WRONG_PASSWORD = 'Wrong-Pa55word-never-logged';
const WEBHOOK_SECRET = 'webhook-secret-never-logged-0123456789abcdef';
const UNKNOWN_KEY = 'unknown-api-key-never-logged-0123';

describe('access log (LAPI_LOG_FORMAT=json): one line per request with its request id, and no secret', () => {
  let api: TestApi;
  const written: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const secrets: string[] = [REGISTER_PASSWORD, WRONG_PASSWORD, WEBHOOK_SECRET, UNKNOWN_KEY];
  let token = '';
  let apiKey = '';

  beforeAll(async () => {
    jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    api = await startTestApi('postgres', {
      LAPI_LOG_FORMAT: 'json',
      LAPI_LOG_LEVEL: 'debug',
      LAPI_WEBHOOK_URL: 'http://127.0.0.1:9/hook',
      LAPI_WEBHOOK_SECRET: WEBHOOK_SECRET,
    });
    const machine = await api.machine('agent');
    token = machine.authorization.replace(/^Bearer /, '');
    const bouncer = await api.bouncer('fw');
    apiKey = bouncer['x-api-key'];
    secrets.push(token, apiKey, 'agent-password');

    await api.inject({
      method: 'POST',
      url: '/v1/watchers',
      payload: { machine_id: 'newcomer', password: REGISTER_PASSWORD },
    });
    await api.inject({
      method: 'POST',
      url: '/v1/watchers/login',
      payload: { machine_id: 'agent', password: WRONG_PASSWORD },
    });
    // Invalid JSON that still carries a password.
    await api.inject({
      method: 'POST',
      url: '/v1/watchers/login',
      headers: { 'content-type': 'application/json' },
      payload: `{"machine_id":"agent","password":"${WRONG_PASSWORD}"`,
    });
    await api.inject({ method: 'GET', url: '/v1/heartbeat', headers: machine });
    await api.inject({ method: 'GET', url: '/v1/heartbeat', headers: { authorization: `Bearer ${token}x` } });
    await api.inject({ method: 'GET', url: '/v1/decisions?ip=192.0.2.1', headers: bouncer });
    await api.inject({
      method: 'GET',
      url: '/v1/decisions/stream?startup=true',
      headers: { ...bouncer, 'x-request-id': 'trace-abc.123' },
    });
    await api.inject({ method: 'GET', url: '/v1/decisions', headers: { 'x-api-key': UNKNOWN_KEY } });
  });

  afterAll(async () => {
    await api?.close();
    jest.restoreAllMocks();
  });

  const jsonLines = () =>
    written
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: string; context?: string; message: unknown });

  it('never writes a password, token, API key or webhook secret', () => {
    const all = written.join('');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(all).not.toContain(secret);
    }
  });

  it('writes one access line per request, with its request id, route, status and identity', () => {
    const access = jsonLines()
      .filter((l) => l.context === 'Http')
      .map((l) => l.message as Record<string, unknown>);
    expect(access.filter((a) => a.path === '/v1/watchers/login')).toHaveLength(3);
    expect(access).toContainEqual(
      expect.objectContaining({
        msg: 'request',
        requestId: 'trace-abc.123',
        method: 'GET',
        route: '/v1/decisions/stream',
        path: '/v1/decisions/stream',
        status: 200,
        bouncer: 'fw',
      }),
    );
    expect(access).toContainEqual(expect.objectContaining({ route: '/v1/heartbeat', status: 200, machine: 'agent' }));
    expect(access).toContainEqual(expect.objectContaining({ route: '/v1/decisions', status: 403 }));
    for (const a of access) {
      expect(a.requestId).toMatch(/^[A-Za-z0-9._:-]{1,128}$/);
    }
  });
});

describe('X-Request-Id', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi('postgres');
  });
  afterAll(() => api.close());

  it('echoes a sane incoming id, on answers and on errors', async () => {
    for (const url of ['/health', '/v1/decisions', '/v1/nothing-here']) {
      const res = await api.inject({ method: 'GET', url, headers: { 'x-request-id': 'lb-7f3a.09_x' } });
      expect(res.headers['x-request-id']).toBe('lb-7f3a.09_x');
    }
  });

  it('makes a new id when none comes or the incoming one is not a sane token', async () => {
    const ids = new Set<string>();
    for (const incoming of [undefined, 'has spaces', 'x'.repeat(129), 'quote"s', '']) {
      const res = await api.inject({
        method: 'GET',
        url: '/v1/decisions',
        headers: incoming === undefined ? {} : { 'x-request-id': incoming },
      });
      expect(res.statusCode).toBe(403);
      const id = String(res.headers['x-request-id']);
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(5);
  });
});
