import { openTestRedis, startPrivateRedis, TEST_JWT_SECRET } from '@lapi/testing';
import jwt from 'jsonwebtoken';
import { AGENT_UA, cscliAlert, startTestApi, type TestApi } from '../../test/api-harness';
import { BouncerKeys, KEY_CACHE_POLICY } from './bouncer-keys';

const login = (t: TestApi, machineId: string, password: string, remoteAddress = '127.0.0.1', xff?: string) =>
  t.inject({
    method: 'POST',
    url: '/v1/watchers/login',
    payload: { machine_id: machineId, password },
    headers: { 'user-agent': AGENT_UA, ...(xff ? { 'x-forwarded-for': xff } : {}) },
    remoteAddress,
  });

describe('client IP behind trusted proxies (LAPI_TRUSTED_PROXIES)', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi('pglite', { LAPI_TRUSTED_PROXIES: '10.0.0.0/8' });
  });
  afterAll(() => t.close());

  const register = (name: string, remoteAddress: string, xff?: string) =>
    t.inject({
      method: 'POST',
      url: '/v1/watchers',
      payload: { machine_id: name, password: `${name}-password` },
      headers: xff ? { 'x-forwarded-for': xff } : {},
      remoteAddress,
    });
  const machineIp = async (name: string) =>
    ((await t.admin({ op: 'machines.list' })) as { machineId: string; ipAddress: string }[]).find(
      (m) => m.machineId === name,
    )?.ipAddress;

  it('records the forwarded client for a request through a trusted proxy, the peer otherwise', async () => {
    expect((await register('via-proxy', '10.0.0.2', '127.0.0.1, 198.51.100.7, 10.1.1.1')).statusCode).toBe(201);
    expect(await machineIp('via-proxy')).toBe('198.51.100.7');
    expect((await register('forged', '203.0.113.5', '127.0.0.1')).statusCode).toBe(201);
    expect(await machineIp('forged')).toBe('203.0.113.5');
  });

  it('checks trusted_ips on the forwarded client: a client behind the proxy is not the proxy', async () => {
    const agent = await t.machine('deleter');
    const remove = (remoteAddress: string, xff?: string) =>
      t.inject({
        method: 'DELETE',
        url: '/v1/alerts?ip=192.0.2.1',
        headers: { ...agent, ...(xff ? { 'x-forwarded-for': xff } : {}) },
        remoteAddress,
      });
    const refused = await remove('10.0.0.2', '198.51.100.7');
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toEqual({ message: 'access forbidden from this IP (198.51.100.7)' });
    // a client that claims to be loopback from outside is refused too
    expect((await remove('203.0.113.5', '127.0.0.1')).statusCode).toBe(403);
    // loopback forwarded by the trusted proxy (the proxy runs on the host) is loopback
    expect((await remove('10.0.0.2', '127.0.0.1')).statusCode).toBe(200);
  });

  it('records the forwarded address as the bouncer’s', async () => {
    const key = await t.bouncer('fw-behind-proxy');
    const res = await t.inject({
      method: 'GET',
      url: '/v1/decisions?ip=192.0.2.1',
      headers: { ...key, 'x-forwarded-for': '198.51.100.9' },
      remoteAddress: '10.0.0.2',
    });
    expect(res.statusCode).toBe(200);
    await t.sightingsRecorded();
    const bouncers = (await t.admin({ op: 'bouncers.list' })) as { name: string; ipAddress: string }[];
    expect(bouncers.find((b) => b.name === 'fw-behind-proxy')?.ipAddress).toBe('198.51.100.9');
  });
});

describe('login throttling (in memory, one process)', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi('pglite', { LAPI_LOGIN_MAX_FAILURES_PER_IP: '8', LAPI_LOGIN_MAX_FAILURES_PER_MACHINE: '3' });
    await t.admin({ op: 'machines.add', name: 'agent', password: 'agent-password' });
    await t.admin({ op: 'machines.add', name: 'other', password: 'other-password' });
  });
  afterAll(() => t.close());

  it('never throttles successful logins, however many from one address', async () => {
    for (let i = 0; i < 30; i++) {
      expect((await login(t, i % 2 ? 'agent' : 'other', i % 2 ? 'agent-password' : 'other-password')).statusCode).toBe(
        200,
      );
    }
  });

  it('refuses a machine id after its failures with 429, a message and Retry-After, even with its password', async () => {
    for (const ip of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) {
      expect((await login(t, 'agent', 'wrong', ip)).statusCode).toBe(401);
    }
    const refused = await login(t, 'agent', 'agent-password', '192.0.2.4');
    expect(refused.statusCode).toBe(429);
    const retry = Number(refused.headers['retry-after']);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(60);
    expect(refused.json()).toEqual({ message: `too many failed login attempts, retry in ${retry}s` });
    // another machine is not affected
    expect((await login(t, 'other', 'other-password', '192.0.2.4')).statusCode).toBe(200);
  });

  it('refuses an address after its failures, whichever machine id it tries', async () => {
    for (let i = 0; i < 8; i++) {
      expect((await login(t, `ghost-${i}`, 'x', '198.51.100.1')).statusCode).toBe(401);
    }
    expect((await login(t, 'other', 'other-password', '198.51.100.1')).statusCode).toBe(429);
    expect((await login(t, 'other', 'other-password', '198.51.100.2')).statusCode).toBe(200);
  });
});

describe('login throttling in a cluster (Redis)', () => {
  let redis: ReturnType<typeof openTestRedis>;
  let a: TestApi;
  let b: TestApi;
  beforeAll(async () => {
    redis = openTestRedis();
    const env = { REDIS_URL: process.env.TEST_REDIS_URL!, LAPI_REDIS_PREFIX: redis.prefix };
    a = await startTestApi('postgres', env);
    b = await startTestApi('postgres', env, { api: a.api });
    await a.admin({ op: 'machines.add', name: 'agent', password: 'agent-password' });
  });
  afterAll(async () => {
    await b.close();
    await a.close();
    await redis.close();
  });

  it('shares the count between replicas: failures on one make the other refuse', async () => {
    for (const t of [a, b, a, b, a]) {
      expect((await login(t, 'agent', 'wrong', '203.0.113.7')).statusCode).toBe(401);
    }
    const refused = await login(b, 'agent', 'agent-password', '203.0.113.8');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect((await login(a, 'agent', 'agent-password', '203.0.113.8')).statusCode).toBe(429);
    const keys = await redis.redis.keys(`${redis.prefix}login-failures:*`);
    expect(keys).toHaveLength(2); // the address and the machine id, nothing else
    for (const key of keys) {
      expect(await redis.redis.pttl(key)).toBeGreaterThan(0);
    }
  });

  it('holds a machine id to its limit when guesses arrive at once on both replicas', async () => {
    await a.admin({ op: 'machines.add', name: 'target', password: 'target-password' });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => login(i % 2 ? a : b, 'target', `guess-${i}`, `198.51.100.${i + 1}`)),
    );
    const statuses = answers.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15);
  });
});

describe('login throttling while Redis is down', () => {
  let server: Awaited<ReturnType<typeof startPrivateRedis>>;
  let t: TestApi;
  beforeAll(async () => {
    server = await startPrivateRedis();
    t = await startTestApi('postgres', {
      REDIS_URL: server.url,
      LAPI_REDIS_PREFIX: 'lapi:',
      LAPI_LOGIN_MAX_FAILURES_PER_MACHINE: '2',
    });
    await t.admin({ op: 'machines.add', name: 'agent', password: 'agent-password' });
  });
  afterAll(() => t.close());

  it('lets logins through (fail open) instead of failing them', async () => {
    await server.stop();
    for (let i = 0; i < 4; i++) {
      expect((await login(t, 'agent', 'wrong')).statusCode).toBe(401);
    }
    expect((await login(t, 'agent', 'agent-password')).statusCode).toBe(200);
  });
});

describe('malformed and unusual credentials', () => {
  let t: TestApi;
  beforeAll(async () => {
    t = await startTestApi('pglite');
    await t.admin({ op: 'machines.add', name: 'agent', password: 'agent-password' });
  });
  afterAll(() => t.close());

  /** What the process wrote to its stdout and stderr (the logger's streams) while `run` ran. */
  async function logged<T>(run: () => Promise<T>): Promise<{ result: T; output: string }> {
    const written: string[] = [];
    const capture = (chunk: unknown) => {
      written.push(String(chunk));
      return true;
    };
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
    const stdout = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
    try {
      return { result: await run(), output: written.join('') };
    } finally {
      stderr.mockRestore();
      stdout.mockRestore();
    }
  }

  it('treats a badly %-escaped jwt cookie as no token: 401, nothing logged', async () => {
    const { result, output } = await logged(async () => [
      await t.inject({ method: 'GET', url: '/v1/heartbeat', headers: { cookie: 'jwt=%' } }),
      await t.inject({
        method: 'POST',
        url: '/v1/alerts',
        headers: { cookie: 'jwt=%E0%A4%A', 'content-type': 'application/json' },
        payload: ' '.repeat(3 * 1024 * 1024),
      }),
    ]);
    const [heartbeat, alerts] = result;
    expect(heartbeat.statusCode).toBe(401);
    expect(heartbeat.json()).toEqual({ code: 401, message: 'cookie token is empty' });
    expect(alerts.statusCode).toBe(413); // no credential: held to the anonymous body limit, not a 500
    expect(output).toBe('');
  });

  it('refuses a token with critical header extensions, even signed with the right secret', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { id: 'agent', orig_iat: now, exp: now + 3600 };
    const sign = (header: object) =>
      jwt.sign(claims, TEST_JWT_SECRET, {
        algorithm: 'HS256',
        noTimestamp: true,
        header: { alg: 'HS256', typ: 'JWT', ...header },
      });
    const heartbeat = (token: string) =>
      t.inject({ method: 'GET', url: '/v1/heartbeat', headers: { authorization: `Bearer ${token}` } });
    expect((await heartbeat(sign({}))).statusCode).toBe(200);
    for (const crit of [['x'], ['exp'], []]) {
      const refused = await heartbeat(sign({ crit, x: 1 }));
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toEqual({ code: 401, message: expect.stringMatching(/critical header/) as string });
    }
  });

  it('refuses a server-signed token naming a machine no database can hold: 401, not a database error', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const id of ['\u0000agent', 'a'.repeat(2_000), '\ud800']) {
      const token = jwt.sign({ id, orig_iat: now, exp: now + 3600 }, TEST_JWT_SECRET, { algorithm: 'HS256' });
      for (const url of ['/v1/heartbeat', '/v1/refresh_token']) {
        const res = await t.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
        expect([url, res.statusCode]).toEqual([url, 401]);
      }
    }
  });

  it('refuses an API key longer than any key without looking it up or keeping it', async () => {
    const keys = t.api.app.get(BouncerKeys);
    keys.clear();
    const res = await t.inject({ method: 'GET', url: '/v1/decisions', headers: { 'x-api-key': 'k'.repeat(8 * 1024) } });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ message: 'access forbidden' });
    expect(keys.size).toBe(0);
  });

  it('keeps few unknown keys, so a flood of them cannot grow the process', async () => {
    const keys = t.api.app.get(BouncerKeys);
    keys.clear();
    const known = await t.bouncer('flooded');
    expect((await t.inject({ method: 'GET', url: '/v1/decisions', headers: known })).statusCode).toBe(200);
    const unknown = KEY_CACHE_POLICY.misses.maxEntries * 2;
    for (let i = 0; i < unknown; i++) {
      expect(await keys.find(`unknown-${i}-`.padEnd(4096, 'x'))).toBeNull();
    }
    // At most the bound (fewer when the flood is slow enough for the oldest to expire first).
    expect(keys.size).toBeLessThanOrEqual(KEY_CACHE_POLICY.misses.maxEntries + 1);
    expect((await t.inject({ method: 'GET', url: '/v1/decisions', headers: known })).statusCode).toBe(200);
  });
});

describe('JWT secret rotation (CS_LAPI_SECRET_PREVIOUS)', () => {
  const OLD = TEST_JWT_SECRET;
  const NEW = 'rotated-secret-'.padEnd(80, 'n');
  let before: TestApi; // signs with the old secret (and owns the database)
  let rotating: TestApi; // new secret, old one as previous
  let oldToken: string;
  let freshToken: string;
  beforeAll(async () => {
    before = await startTestApi('pglite', { CS_LAPI_SECRET: OLD });
    await before.admin({ op: 'machines.add', name: 'agent', password: 'agent-password' });
    oldToken = await tokenOf(before);
    rotating = await startTestApi('pglite', { CS_LAPI_SECRET: NEW, CS_LAPI_SECRET_PREVIOUS: OLD }, { api: before.api });
  });
  afterAll(async () => {
    await rotating.close();
    await before.close();
  });

  const heartbeat = (t: TestApi, token: string) =>
    t.inject({ method: 'GET', url: '/v1/heartbeat', headers: { authorization: `Bearer ${token}` } });
  async function tokenOf(t: TestApi) {
    const res = await login(t, 'agent', 'agent-password');
    expect(res.statusCode).toBe(200);
    return res.json<{ token: string }>().token;
  }

  it('accepts a token signed with the previous secret', async () => {
    expect(() => jwt.verify(oldToken, OLD, { algorithms: ['HS256'] })).not.toThrow();
    expect((await heartbeat(rotating, oldToken)).statusCode).toBe(200);
    const res = await rotating.inject({
      method: 'POST',
      url: '/v1/alerts',
      headers: { authorization: `Bearer ${oldToken}` },
      payload: [cscliAlert([{ value: '192.0.2.50' }], { stopAt: rotating.clock.now() })],
    });
    expect(res.statusCode).toBe(201);
  });

  it('signs new tokens with the new secret', async () => {
    freshToken = await tokenOf(rotating);
    expect(() => jwt.verify(freshToken, NEW, { algorithms: ['HS256'] })).not.toThrow();
    expect(() => jwt.verify(freshToken, OLD, { algorithms: ['HS256'] })).toThrow();
    expect((await heartbeat(rotating, freshToken)).statusCode).toBe(200);
  });

  it('refreshes a previous-secret token into a new-secret one', async () => {
    const res = await rotating.inject({
      method: 'GET',
      url: '/v1/refresh_token',
      headers: { authorization: `Bearer ${oldToken}` },
    });
    expect(res.statusCode).toBe(200);
    expect(() => jwt.verify(res.json<{ token: string }>().token, NEW, { algorithms: ['HS256'] })).not.toThrow();
  });

  it('refuses previous-secret tokens we would never have issued: from the future, or living past one lifetime', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: object, secret = OLD) => jwt.sign(claims, secret, { algorithm: 'HS256', noTimestamp: true });
    const forever = { id: 'agent', orig_iat: now, exp: now + 30 * 86_400 };
    expect((await heartbeat(rotating, sign(forever))).statusCode).toBe(401);
    expect((await heartbeat(rotating, sign({ id: 'agent', orig_iat: now + 3_600, exp: now + 3_600 }))).statusCode).toBe(
      401,
    );
    expect((await heartbeat(rotating, sign({ id: 'agent', orig_iat: now, exp: now + 3_600 }))).statusCode).toBe(200);
    // the current secret's tokens are judged as before (exp only)
    expect((await heartbeat(rotating, sign(forever, NEW))).statusCode).toBe(200);
  });

  it('refuses the previous secret’s tokens once it is removed', async () => {
    await rotating.close();
    rotating = await startTestApi('pglite', { CS_LAPI_SECRET: NEW }, { api: before.api });
    const refused = await heartbeat(rotating, oldToken);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toEqual({ code: 401, message: 'signature is invalid' });
    expect((await heartbeat(rotating, freshToken)).statusCode).toBe(200);
  });
});
