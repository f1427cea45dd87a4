import { nestAdminContext, runAdminRequest } from '@lapi/application';
import { loadConfig } from '@lapi/config';
import type { Machine } from '@lapi/domain';
import { openTestDatabase, TEST_BACKENDS, TEST_JWT_SECRET } from '@lapi/testing';
import { createApiApp, type ApiApp } from '../app.factory';

const TOKEN = 'k8s-registration-token-0123456789abcdef';
const UA = 'crowdsec/v1.6.5-linux';

describe.each(TEST_BACKENDS)('agent auto-registration (%s)', (backend) => {
  let api: ApiApp;
  let dispose: () => Promise<void>;
  const register = (body: object, remoteAddress = '10.42.0.7') =>
    api.app.inject({ method: 'POST', url: '/v1/watchers', payload: body, remoteAddress });
  const login = (machine_id: string, password: string) =>
    api.app.inject({
      method: 'POST',
      url: '/v1/watchers/login',
      payload: { machine_id, password },
      headers: { 'user-agent': UA },
    });
  const machine = async (id: string) => {
    const list = (await runAdminRequest({ op: 'machines.list' }, nestAdminContext(api.app))) as Machine[];
    return list.find((m) => m.machineId === id);
  };

  beforeAll(async () => {
    const db = await openTestDatabase(backend);
    dispose = db.dispose;
    const config = loadConfig({
      DATABASE_URL: 'postgres://unused/x',
      CS_LAPI_SECRET: TEST_JWT_SECRET,
      LAPI_LOG_LEVEL: 'error',
      LAPI_AUTO_REGISTRATION_TOKEN: TOKEN,
      LAPI_AUTO_REGISTRATION_ALLOWED_RANGES: '10.42.0.0/16, fd00::/8',
    });
    api = await createApiApp(config, db.handle);
    await api.app.getHttpAdapter().getInstance().ready();
  }, 180_000); // PGlite's start is slow on a loaded machine

  afterAll(async () => {
    await api.close();
    await dispose();
  });

  it('answers 202 with an empty body and the machine can log in at once', async () => {
    const res = await register({ machine_id: 'pod-a', password: 'pod-a-password', registration_token: TOKEN });
    expect(res.statusCode).toBe(202);
    expect(res.body).toBe('');
    expect(await machine('pod-a')).toMatchObject({ validated: true, ipAddress: '10.42.0.7' });
    expect((await login('pod-a', 'pod-a-password')).statusCode).toBe(200);
  });

  it('accepts an IPv6 agent in an allowed range', async () => {
    const res = await register({ machine_id: 'pod-v6', password: 'pw', registration_token: TOKEN }, 'fd00::17');
    expect(res.statusCode).toBe(202);
    expect(await machine('pod-v6')).toMatchObject({ validated: true });
  });

  it('refuses a wrong token with 401 and the reference message, and creates nothing', async () => {
    const res = await register({ machine_id: 'pod-b', password: 'pw', registration_token: 'x'.repeat(32) });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ message: 'invalid token for auto registration' });
    expect(await machine('pod-b')).toBeUndefined();
  });

  it('refuses the right token from outside the ranges with 401', async () => {
    const res = await register({ machine_id: 'pod-c', password: 'pw', registration_token: TOKEN }, '192.0.2.9');
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ message: 'IP not in allowed range for auto registration' });
    expect(await machine('pod-c')).toBeUndefined();
  });

  it('refuses a token shorter than 32 characters as the swagger does (422)', async () => {
    const res = await register({ machine_id: 'pod-d', password: 'pw', registration_token: 'short' });
    expect(res.statusCode).toBe(422);
  });

  it('keeps the old path without a token: 201 and pending', async () => {
    const res = await register({ machine_id: 'pod-e', password: 'pw' });
    expect(res.statusCode).toBe(201);
    expect(await machine('pod-e')).toMatchObject({ validated: false });
    expect((await login('pod-e', 'pw')).statusCode).toBe(401);
  });

  it('lets a restarted pod register again with the same name and password, without a duplicate', async () => {
    const again = await register({ machine_id: 'pod-a', password: 'pod-a-password', registration_token: TOKEN });
    expect(again.statusCode).toBe(202);
    const plain = await register({ machine_id: 'pod-a', password: 'pod-a-password' });
    expect(plain.statusCode).toBe(201);
    expect(await machine('pod-a')).toMatchObject({ validated: true });
    expect((await login('pod-a', 'pod-a-password')).statusCode).toBe(200);
  });

  it('validates a pending machine that registers again with its password and the token', async () => {
    const res = await register({ machine_id: 'pod-e', password: 'pw', registration_token: TOKEN });
    expect(res.statusCode).toBe(202);
    expect(await machine('pod-e')).toMatchObject({ validated: true });
  });

  it('refuses the name to another password with the reference 403, token or not', async () => {
    for (const body of [
      { machine_id: 'pod-a', password: 'stolen', registration_token: TOKEN },
      { machine_id: 'pod-a', password: 'stolen' },
    ]) {
      const res = await register(body);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toEqual({ message: "user 'pod-a': user already exist" });
    }
    expect((await login('pod-a', 'pod-a-password')).statusCode).toBe(200);
  });
});

describe('auto-registration disabled', () => {
  it('ignores a token: 201 and pending, as the reference', async () => {
    const db = await openTestDatabase('pglite');
    const config = loadConfig({
      DATABASE_URL: 'postgres://unused/x',
      CS_LAPI_SECRET: TEST_JWT_SECRET,
      LAPI_LOG_LEVEL: 'error',
    });
    const api = await createApiApp(config, db.handle);
    try {
      const res = await api.app.inject({
        method: 'POST',
        url: '/v1/watchers',
        payload: { machine_id: 'pod', password: 'pw', registration_token: TOKEN },
        remoteAddress: '10.42.0.7',
      });
      expect(res.statusCode).toBe(201);
    } finally {
      await api.close();
      await db.dispose();
    }
  }, 180_000);
});
