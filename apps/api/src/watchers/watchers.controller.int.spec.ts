import { DECISION_READER, nestAdminContext, runAdminRequest, type DecisionReader } from '@lapi/application';
import { loadConfig } from '@lapi/config';
import { openTestDatabase, TEST_BACKENDS, TEST_JWT_SECRET } from '@lapi/testing';
import jwt from 'jsonwebtoken';
import { createApiApp, type ApiApp } from '../app.factory';
import { BouncerSightings } from '../auth/bouncer-sightings';

const UA = 'crowdsec/v1.4.6-6~deb12u1+b1-linux-debian';
const JWT_401 = { 'www-authenticate': 'JWT realm=Crowdsec API local' };

describe.each(TEST_BACKENDS)('machines over HTTP (%s)', (backend) => {
  let api: ApiApp;
  let dispose: () => Promise<void>;
  const admin = (req: Parameters<typeof runAdminRequest>[0]) => runAdminRequest(req, nestAdminContext(api.app));
  const inject = (opts: Parameters<ApiApp['app']['inject']>[0]) => api.app.inject(opts);
  const register = (body: unknown) => inject({ method: 'POST', url: '/v1/watchers', payload: body as object });
  const login = (body: unknown, ua = UA) =>
    inject({ method: 'POST', url: '/v1/watchers/login', payload: body as object, headers: { 'user-agent': ua } });
  const tokenFor = async (machineId: string, password: string) => {
    const res = await login({ machine_id: machineId, password });
    expect(res.statusCode).toBe(200);
    return res.json<{ token: string }>().token;
  };

  beforeAll(async () => {
    const db = await openTestDatabase(backend);
    dispose = db.dispose;
    const config = loadConfig({
      DATABASE_URL: 'postgres://unused/x',
      CS_LAPI_SECRET: TEST_JWT_SECRET,
      LAPI_LOG_LEVEL: 'warn',
    });
    api = await createApiApp(config, db.handle);
    await api.app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await api.close();
    await dispose();
  });

  describe('POST /v1/watchers', () => {
    it('registers an unvalidated machine: 201, empty body', async () => {
      const res = await register({ machine_id: 'reg1', password: 'secret-password' });
      expect(res.statusCode).toBe(201);
      expect(res.body).toBe('');
      const [machine] = (await admin({ op: 'machines.list' })) as {
        machineId: string;
        validated: boolean;
        ipAddress: string;
      }[];
      expect(machine).toMatchObject({ machineId: 'reg1', validated: false, ipAddress: '127.0.0.1' });
    });

    it('refuses an existing name with 403 and the reference message', async () => {
      const res = await register({ machine_id: 'reg1', password: 'other' });
      expect(res.statusCode).toBe(403);
      expect(res.body).toBe('{"message":"user \'reg1\': user already exist"}');
    });

    it('answers 422 with go-swagger text for a missing field, 400 for invalid JSON', async () => {
      const missing = await register({ machine_id: 'x' });
      expect(missing.statusCode).toBe(422);
      expect(missing.json()).toEqual({ message: 'validation failure list:\npassword in body is required' });
      const wrongType = await register({ machine_id: 1, password: 'p' });
      expect(wrongType.statusCode).toBe(422);
      expect(wrongType.json()).toEqual({
        message: 'validation failure list:\nmachine_id in body must be of type string: "number"',
      });
      const invalid = await inject({
        method: 'POST',
        url: '/v1/watchers',
        payload: '{bad',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(invalid.statusCode).toBe(400);
      expect(typeof invalid.json().message).toBe('string');
      const empty = await inject({ method: 'POST', url: '/v1/watchers' });
      expect(empty.statusCode).toBe(400);
      expect(empty.json()).toEqual({ message: 'EOF' });
      const array = await register([1, 2]);
      expect(array.statusCode).toBe(422);
    });

    it('treats empty strings as missing, like go-swagger', async () => {
      const res = await register({ machine_id: '', password: '' });
      expect(res.statusCode).toBe(422);
      expect(res.json()).toEqual({
        message: 'validation failure list:\nmachine_id in body is required\npassword in body is required',
      });
    });

    it.each([
      ['a NUL character', '{"machine_id":"a\\u0000b","password":"p"}'],
      ['an unpaired surrogate', '{"machine_id":"a\\ud800b","password":"p"}'],
    ])('refuses %s with 400 instead of failing in the database', async (_case, payload) => {
      const res = await inject({ method: 'POST', url: '/v1/watchers', payload });
      expect(res.statusCode).toBe(400);
      expect(res.json().message).toMatch(/NUL characters or unpaired surrogates/);
    });

    it('refuses a body over 2 MiB before authentication', async () => {
      const res = await register({ machine_id: 'big', password: 'x'.repeat(3 * 1024 * 1024) });
      expect(res.statusCode).toBe(413);
      expect(typeof res.json().message).toBe('string');
    });
  });

  describe('POST /v1/watchers/login', () => {
    beforeAll(async () => {
      await admin({ op: 'machines.add', name: 'agent1', password: 'agent1-password' });
    });

    it('issues an HS256 token with exactly the reference claims, valid one hour', async () => {
      const before = Math.floor(Date.now() / 1000);
      const res = await login({
        machine_id: 'agent1',
        password: 'agent1-password',
        scenarios: ['crowdsecurity/ssh-bf'],
      });
      expect(res.statusCode).toBe(200);
      const body = res.json<{ code: number; expire: string; token: string }>();
      expect(Object.keys(body).sort()).toEqual(['code', 'expire', 'token']);
      expect(body.code).toBe(200);
      expect(body.expire).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      const decoded = jwt.decode(body.token, { complete: true })!;
      expect(decoded.header).toEqual({ alg: 'HS256', typ: 'JWT' });
      const claims = decoded.payload as Record<string, number | string>;
      expect(Object.keys(claims).sort()).toEqual(['exp', 'id', 'orig_iat']);
      expect(claims.id).toBe('agent1');
      expect(claims.exp).toBeGreaterThanOrEqual(before + 3600);
      expect(claims.exp).toBe((claims.orig_iat as number) + 3600);
      expect(new Date(body.expire).getTime() / 1000).toBe(claims.exp);
      jwt.verify(body.token, TEST_JWT_SECRET, { algorithms: ['HS256'] });

      const [machine] = (
        (await admin({ op: 'machines.list' })) as { machineId: string; scenarios: string; version: string }[]
      ).filter((m) => m.machineId === 'agent1');
      expect(machine).toMatchObject({ scenarios: 'crowdsecurity/ssh-bf', version: 'v1.4.6-6~deb12u1+b1-linux-debian' });
    });

    it('ignores a stale Authorization header sent along (the 1.4.6 agent does)', async () => {
      const res = await inject({
        method: 'POST',
        url: '/v1/watchers/login',
        payload: { machine_id: 'agent1', password: 'agent1-password', scenarios: null },
        headers: { 'user-agent': UA, authorization: 'Bearer stale.token.here' },
      });
      expect(res.statusCode).toBe(200);
    });

    it.each([
      ['an unknown machine', { machine_id: 'ghost', password: 'x' }, UA, 'ent: machine not found'],
      ['an unvalidated machine', { machine_id: 'reg1', password: 'secret-password' }, UA, 'machine reg1 not validated'],
      ['a wrong password', { machine_id: 'agent1', password: 'wrong' }, UA, 'incorrect Username or Password'],
      [
        'a User-Agent without one "/"',
        { machine_id: 'agent1', password: 'agent1-password' },
        'curl',
        'incorrect Username or Password',
      ],
      ['a missing field', { machine_id: 'agent1' }, UA, 'input format error'],
    ])('refuses %s with the JWT middleware 401', async (_case, body, ua, message) => {
      const res = await login(body, ua);
      expect(res.statusCode).toBe(401);
      expect(res.headers).toMatchObject(JWT_401);
      expect(res.body).toBe(JSON.stringify({ code: 401, message }));
    });

    it('answers invalid JSON with 401 "missing: …"', async () => {
      const res = await inject({
        method: 'POST',
        url: '/v1/watchers/login',
        payload: '{"machine_id":',
        headers: { 'user-agent': UA },
      });
      expect(res.statusCode).toBe(401);
      expect(res.json().message).toMatch(/^missing: /);
    });
  });

  describe('JWT routes', () => {
    let token: string;
    beforeAll(async () => {
      await admin({ op: 'machines.add', name: 'agent2', password: 'agent2-password' });
      token = await tokenFor('agent2', 'agent2-password');
    });

    it('records a heartbeat: 200, empty body', async () => {
      const res = await inject({ method: 'GET', url: '/v1/heartbeat', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('');
      expect(res.headers['content-length']).toBe('0');
      const machines = (await admin({ op: 'machines.list' })) as { machineId: string; lastHeartbeat: string | null }[];
      expect(machines.find((m) => m.machineId === 'agent2')!.lastHeartbeat).not.toBeNull();
    });

    it('takes the token from ?token= and from the jwt cookie too', async () => {
      expect((await inject({ method: 'GET', url: `/v1/heartbeat?token=${token}` })).statusCode).toBe(200);
      expect(
        (await inject({ method: 'GET', url: '/v1/heartbeat', headers: { cookie: `jwt=${token}` } })).statusCode,
      ).toBe(200);
    });

    const expired = () =>
      jwt.sign({ exp: Math.floor(Date.now() / 1000) - 10, id: 'agent2', orig_iat: 1 }, TEST_JWT_SECRET, {
        noTimestamp: true,
      });
    const otherSecret = () =>
      jwt.sign(
        { exp: Math.floor(Date.now() / 1000) + 100, id: 'agent2', orig_iat: 1 },
        'another-secret'.padEnd(64, 'y'),
        {
          noTimestamp: true,
        },
      );

    it.each([
      ['no token', {}, 'cookie token is empty'],
      ['an API key instead', { 'x-api-key': 'abc' }, 'cookie token is empty'],
      ['a scheme other than Bearer', { authorization: 'bearer x.y.z' }, 'cookie token is empty'],
      ['a malformed token', { authorization: 'Bearer abc' }, 'token contains an invalid number of segments'],
      ['a bad signature', { authorization: `Bearer ${otherSecret()}` }, 'signature is invalid'],
      ['an expired token', { authorization: `Bearer ${expired()}` }, 'Token is expired'],
    ])('refuses %s with the reference 401', async (_case, headers, message) => {
      const res = await inject({ method: 'GET', url: '/v1/heartbeat', headers });
      expect(res.statusCode).toBe(401);
      expect(res.headers).toMatchObject(JWT_401);
      expect(res.body).toBe(JSON.stringify({ code: 401, message }));
    });

    it('refreshes a token within an hour of its issue', async () => {
      const res = await inject({
        method: 'GET',
        url: '/v1/refresh_token',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(200);
      expect((jwt.decode(res.json().token) as { id: string }).id).toBe('agent2');
    });

    it('deletes the machine named in the token: 204, then its token is refused', async () => {
      await admin({ op: 'machines.add', name: 'leaving', password: 'leaving-password' });
      const own = await tokenFor('leaving', 'leaving-password');
      const res = await inject({
        method: 'DELETE',
        url: '/v1/watchers/self',
        headers: { authorization: `Bearer ${own}` },
      });
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
      const again = await inject({
        method: 'DELETE',
        url: '/v1/watchers/self',
        headers: { authorization: `Bearer ${own}` },
      });
      expect(again.statusCode).toBe(401);
      expect(again.json()).toEqual({ code: 401, message: 'token revoked: machine deleted' });
    });
  });

  describe('bouncer routes', () => {
    let key: string;
    beforeAll(async () => {
      key = ((await admin({ op: 'bouncers.add', name: 'fw1' })) as { key: string }).key;
    });

    it('answers null to a valid key and records the bouncer', async () => {
      const res = await inject({
        method: 'GET',
        url: '/v1/decisions?ip=1.2.3.4',
        headers: { 'x-api-key': key, 'user-agent': 'crowdsec-firewall-bouncer/v0.0.25' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('null');
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      // Both written in the background: the sighting, and (once a minute) the lookup's time.
      await api.app.get(BouncerSightings).settled();
      await api.app.get<DecisionReader>(DECISION_READER).flushPullTimes();
      const [bouncer] = (await admin({ op: 'bouncers.list' })) as {
        name: string;
        type: string;
        version: string;
        ipAddress: string;
      }[];
      expect(bouncer).toMatchObject({ type: 'crowdsec-firewall-bouncer', version: 'v0.0.25', ipAddress: '127.0.0.1' });
      // The lookup is its last pull (reference decisions.go GetDecision moves last_pull too).
      const times = (await admin({ op: 'bouncers.positions', keys: [bouncer.name] })) as Record<string, string>;
      expect(times[bouncer.name]).toBeDefined();
    });

    it.each([
      ['no key', {}],
      ['a wrong key', { 'x-api-key': 'not-the-key-at-all' }],
      ['a machine token', { authorization: 'Bearer a.b.c' }],
    ])('refuses %s with 403 access forbidden', async (_case, headers) => {
      const res = await inject({ method: 'GET', url: '/v1/decisions', headers });
      expect(res.statusCode).toBe(403);
      expect(res.body).toBe('{"message":"access forbidden"}');
    });

    it('answers HEAD without a body', async () => {
      const res = await inject({ method: 'HEAD', url: '/v1/decisions', headers: { 'x-api-key': key } });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('');
    });
  });

  describe('routing like gin', () => {
    it.each([
      ['GET', '/nope', 404],
      ['GET', '/V1/decisions', 404],
      ['DELETE', '/v1/watchers', 405],
      ['POST', '/v1/decisions', 405],
    ])('%s %s → %i with an empty body', async (method, url, status) => {
      const res = await inject({ method: method as 'GET', url });
      expect(res.statusCode).toBe(status);
      expect(res.body).toBe('');
    });

    it('redirects a trailing slash: 301 for GET, 307 otherwise', async () => {
      const get = await inject({ method: 'GET', url: '/v1/decisions/' });
      expect(get.statusCode).toBe(301);
      expect(get.headers.location).toBe('/v1/decisions');
      const post = await inject({ method: 'POST', url: '/v1/watchers/' });
      expect(post.statusCode).toBe(307);
      expect(post.headers.location).toBe('/v1/watchers');
    });

    it('answers /health like the reference', async () => {
      const res = await inject({ method: 'GET', url: '/health' });
      expect(res.statusCode).toBe(200);
      expect(res.body).toBe('{"status":"up"}');
      expect(res.headers).toMatchObject({ 'cache-control': 'no-cache', expires: '-1', pragma: 'no-cache' });
    });

    it('echoes a request id', async () => {
      const res = await inject({ method: 'GET', url: '/health', headers: { 'x-request-id': 'abc-123' } });
      expect(res.headers['x-request-id']).toBe('abc-123');
    });
  });

  it('keeps every change as an event with its actor, request id and client IP', async () => {
    const rows = await api.database.db
      .selectFrom('events')
      .select(['type', 'stream_id', 'metadata'])
      .where('stream_id', '=', 'machine-reg1')
      .orderBy('global_position')
      .execute();
    expect(rows.map((r) => r.type)).toEqual(['MachineRegistered']);
    const meta = (typeof rows[0].metadata === 'string' ? JSON.parse(rows[0].metadata) : rows[0].metadata) as Record<
      string,
      unknown
    >;
    expect(meta).toMatchObject({ actor: { kind: 'machine', id: 'reg1' }, clientIp: '127.0.0.1' });
    expect(typeof meta.requestId).toBe('string');
    const types = await api.database.db.selectFrom('events').select('type').distinct().execute();
    expect(types.map((t) => t.type).sort()).toEqual(
      expect.arrayContaining([
        'BouncerAdded',
        'BouncerSeen',
        'MachineDeleted',
        'MachineHeartbeatRecorded',
        'MachineLoggedIn',
        'MachineRegistered',
      ]),
    );
  });
});
