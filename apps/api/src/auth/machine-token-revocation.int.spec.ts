import { autodeleteClients, inlineBarrier, inlineProjections, RedisCredentialChanges } from '@lapi/application';
import { loadConfig } from '@lapi/config';
import { adminSocketPath, PostgresEventStore } from '@lapi/event-store';
import { redisKeys } from '@lapi/read-models';
import { openTestRedis, TEST_BACKENDS, TEST_JWT_SECRET, testServerUrl } from '@lapi/testing';
import Redis from 'ioredis';
import jwt from 'jsonwebtoken';
import { sql } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendAdminRequest } from '../../../cli/src/admin-client';
import { AGENT_UA, startTestApi, type TestApi } from '../../test/api-harness';
import { startAdminSocket } from '../admin/admin-socket';
import { JwtAuthError } from '../http/http-errors';
import { RetentionTimer } from '../retention/retention-timer';
import { MACHINE_CACHE_TTL_MS } from './expiring-cache';
import { MachineTokenCheck } from './machine-token-check';
import { MAX_REFRESH_S, TOKEN_LIFETIME_S, TokenService, type MachineClaims } from './token.service';

const HOUR_MS = 3_600_000;
// Not loopback: pruning spares machines on the LAPI's host.
const AGENT_IP = '192.0.2.10';

const unique = (prefix: string) => `${prefix}-${Math.random().toString(36).slice(2, 8)}`;

/** `lapi <op>` as the CLI hands it to the running embedded server. */
function overAdminSocket(dataDir: string, body: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const r = request({ socketPath: adminSocketPath(dataDir), path: '/', method: 'POST' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown; error?: unknown };
        if (parsed.error) {
          reject(new Error(JSON.stringify(parsed.error)));
        } else {
          resolve(parsed.result);
        }
      });
    });
    r.on('error', reject);
    r.end(payload);
  });
}

async function logIn(t: TestApi, name: string): Promise<string> {
  const res = await t.inject({
    method: 'POST',
    url: '/v1/watchers/login',
    payload: { machine_id: name, password: `${name}-password` },
    headers: { 'user-agent': AGENT_UA },
    remoteAddress: AGENT_IP,
  });
  expect(res.statusCode).toBe(200);
  return res.json<{ token: string }>().token;
}

/** A machine added by the admin and logged in from AGENT_IP; its token. */
async function agent(t: TestApi, name: string): Promise<string> {
  await t.admin({ op: 'machines.add', name, password: `${name}-password` });
  return logIn(t, name);
}

/** A machine route: the status it answers this token. */
const heartbeat = async (t: TestApi, token: string) =>
  (await t.inject({ method: 'GET', url: '/v1/heartbeat', headers: { authorization: `Bearer ${token}` } })).statusCode;

/** A route that writes: what a stolen token is worth. */
const deleteDecisions = (t: TestApi, token: string) =>
  t.inject({ method: 'DELETE', url: '/v1/decisions', headers: { authorization: `Bearer ${token}` } });

const refresh = (t: TestApi, token: string) =>
  t.inject({ method: 'GET', url: '/v1/refresh_token', headers: { authorization: `Bearer ${token}` } });

const claimsOf = (token: string) => jwt.decode(token) as MachineClaims;

const REVOKED = { code: 401, message: 'token revoked: machine deleted' };

// Well under the caches' lifetime (5 s): a replica that only forgets on expiry fails these.
const ANNOUNCED_MS = 500;

/** Whether `status` answers `refused` within `ms` (asked every 20 ms), with no clock moved. */
async function refusedWithin(ms: number, status: () => Promise<number>, refused = 401): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if ((await status()) === refused) {
      return true;
    }
    if (Date.now() > deadline) {
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * What replica `t`'s own token check answers (200 or 401). Passport keeps one strategy per name for the whole
 * process, so in these in-process replicas every HTTP request is checked by the replica started last: the others'
 * caches are asked directly.
 */
const checkedBy = (t: TestApi, token: string): Promise<number> =>
  t.api.app
    .get(MachineTokenCheck)
    .assertHonoured(t.api.app.get(TokenService).claimsOf(claimsOf(token)))
    .then(
      () => 200,
      (error: unknown) => {
        if (error instanceof JwtAuthError) {
          return 401;
        }
        throw error;
      },
    );

/** `lapi`'s configuration in cluster mode: straight to the replicas' PostgreSQL database. */
async function cliConfig(t: TestApi, env: Record<string, string>) {
  const { rows } = await sql<{ name: string }>`select current_database() as name`.execute(t.api.database.db);
  const url = new URL(testServerUrl());
  url.pathname = `/${rows[0].name}`;
  return loadConfig({ DATABASE_URL: url.toString(), CS_LAPI_SECRET: TEST_JWT_SECRET, ...env });
}

describe.each(TEST_BACKENDS)('machine tokens are revoked with their machine (%s)', (backend) => {
  let t: TestApi;
  let dataDir: string;
  let socket: { close(): Promise<void> };
  const lapi = (body: unknown) => overAdminSocket(dataDir, body);

  beforeAll(async () => {
    t = await startTestApi(backend);
    dataDir = mkdtempSync(join(tmpdir(), 'lapi-revocation-'));
    socket = await startAdminSocket(t.api.app, dataDir);
  });
  afterAll(async () => {
    await socket?.close();
    await t?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses the token of a machine deleted through DELETE /v1/watchers/self, at once', async () => {
    const token = await agent(t, unique('self'));
    expect(await heartbeat(t, token)).toBe(200);
    const gone = await t.inject({
      method: 'DELETE',
      url: '/v1/watchers/self',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(gone.statusCode).toBe(204);
    const res = await deleteDecisions(t, token);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual(REVOKED);
    expect(await heartbeat(t, token)).toBe(401);
  });

  it('refuses the token of a machine deleted by `lapi machines delete` (admin socket), at once', async () => {
    const name = unique('deleted');
    const token = await agent(t, name);
    expect(await heartbeat(t, token)).toBe(200); // now cached
    await lapi({ op: 'machines.delete', name });
    expect((await deleteDecisions(t, token)).statusCode).toBe(401);
  });

  it('refuses the token of a machine pruned by `lapi machines prune` (admin socket), at once', async () => {
    const name = unique('pruned');
    const token = await agent(t, name);
    expect(await heartbeat(t, token)).toBe(200); // now cached, for longer than the second below
    t.clock.advance(1_000);
    expect(await lapi({ op: 'machines.prune', notSeenMs: 1_000, notValidatedOnly: false, force: true })).toContain(
      name,
    );
    expect(await heartbeat(t, token)).toBe(401);
  });

  // PGlite has one process: nothing else can write to it.
  (backend === 'postgres' ? it : it.skip)(
    'refuses it within the cache lifetime when a process without Redis deleted the machine',
    async () => {
      // `lapi machines delete` straight to PostgreSQL with no Redis configured: no server can be told.
      const name = unique('elsewhere');
      const token = await agent(t, name);
      expect(await heartbeat(t, token)).toBe(200);
      await sendAdminRequest(await cliConfig(t, {}), { op: 'machines.delete', name });
      expect(await heartbeat(t, token)).toBe(200); // still cached: the bound is the cache's lifetime
      t.clock.advance(MACHINE_CACHE_TTL_MS);
      expect(await heartbeat(t, token)).toBe(401);
    },
  );

  it('refuses the old token of a name deleted and registered again; the new machine’s works at once', async () => {
    const name = unique('reborn');
    const old = await agent(t, name);
    expect(await heartbeat(t, old)).toBe(200);
    t.clock.advance(1_000); // the old login is a second before the new registration
    await lapi({ op: 'machines.delete', name });
    await lapi({ op: 'machines.add', name, password: `${name}-password` });
    const res = await deleteDecisions(t, old);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual(REVOKED);
    // Logged in within the very second the machine was registered (the clock has not moved).
    const current = await logIn(t, name);
    expect(claimsOf(current).orig_iat).toBe(Math.floor(t.clock.now().getTime() / 1000));
    expect(await heartbeat(t, current)).toBe(200);
    expect(await heartbeat(t, old)).toBe(401);
  });

  it('refuses the old token when the name is registered again by the agent itself, not yet validated', async () => {
    const name = unique('pending');
    const old = await agent(t, name);
    t.clock.advance(1_000);
    await lapi({ op: 'machines.delete', name });
    const registered = await t.inject({
      method: 'POST',
      url: '/v1/watchers',
      payload: { machine_id: name, password: 'another-password' },
    });
    expect(registered.statusCode).toBe(201);
    expect(await heartbeat(t, old)).toBe(401);
  });

  it('refreshes a token keeping its login’s orig_iat, until one hour after that login', async () => {
    const first = await agent(t, unique('refresh'));
    const origIat = claimsOf(first).orig_iat;
    t.clock.advance(40 * 60_000);
    const second = await refresh(t, first);
    expect(second.statusCode).toBe(200);
    const secondToken = second.json<{ token: string }>().token;
    expect(claimsOf(secondToken)).toMatchObject({
      orig_iat: origIat,
      exp: Math.floor(t.clock.now().getTime() / 1000) + TOKEN_LIFETIME_S,
    });
    expect(Object.keys(claimsOf(secondToken)).sort()).toEqual(['exp', 'id', 'orig_iat']);
    expect(await heartbeat(t, secondToken)).toBe(200);
    // The refreshed token cannot be refreshed past the first login's hour.
    t.clock.advance((MAX_REFRESH_S - 40 * 60) * 1000);
    expect((await refresh(t, secondToken)).statusCode).toBe(200);
    t.clock.advance(1_000);
    const late = await refresh(t, secondToken);
    expect(late.statusCode).toBe(401);
    expect(late.json()).toEqual({ code: 401, message: 'token is expired' });
  });

  it('does not refresh the token of a deleted machine', async () => {
    const name = unique('refresh-deleted');
    const token = await agent(t, name);
    await lapi({ op: 'machines.delete', name });
    const res = await refresh(t, token);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual(REVOKED);
  });

  it('refuses a validly signed token without orig_iat', async () => {
    const name = unique('no-iat');
    await agent(t, name);
    const token = jwt.sign({ id: name, exp: Math.floor(Date.now() / 1000) + 600 }, TEST_JWT_SECRET, {
      noTimestamp: true,
    });
    expect(await heartbeat(t, token)).toBe(401);
  });
});

describe('machine tokens are revoked with their machine by the autodelete run (embedded)', () => {
  let t: TestApi;
  afterAll(() => t?.close());

  it('refuses the token of a machine the retention run deleted, at once', async () => {
    t = await startTestApi('pglite', { LAPI_AGENTS_AUTODELETE_LOGIN: '5m' });
    const token = await agent(t, unique('stale'));
    expect(await heartbeat(t, token)).toBe(200); // its last sign of life
    t.clock.advance(HOUR_MS);
    // Reading alerts is no sign of life (a heartbeat would be): the machine is cached, and still due.
    const read = await t.inject({ method: 'GET', url: '/v1/alerts', headers: { authorization: `Bearer ${token}` } });
    expect(read.statusCode).toBe(200);
    await t.api.app.get(RetentionTimer).tick();
    expect((await t.admin({ op: 'machines.list' })) as unknown[]).toEqual([]);
    const res = await deleteDecisions(t, token);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual(REVOKED);
  });
});

// Two API replicas in cluster mode over one database and one Redis.
describe('machine tokens are revoked on every replica (cluster)', () => {
  let redis: ReturnType<typeof openTestRedis>;
  let a: TestApi;
  let b: TestApi;
  let env: Record<string, string>;

  beforeAll(async () => {
    redis = openTestRedis();
    env = { REDIS_URL: process.env.TEST_REDIS_URL!, LAPI_REDIS_PREFIX: redis.prefix };
    a = await startTestApi('postgres', env);
    b = await startTestApi('postgres', env, a);
  }, 180_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await redis?.close();
  });

  it('refuses a machine’s token on the replica that deleted it and on the others at once', async () => {
    const token = await agent(a, unique('replicated'));
    expect(await heartbeat(b, token)).toBe(200);
    expect(await checkedBy(a, token)).toBe(200); // now cached by a
    const gone = await b.inject({
      method: 'DELETE',
      url: '/v1/watchers/self',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(gone.statusCode).toBe(204);
    expect(await heartbeat(b, token)).toBe(401);
    // No clock moved: a's cache entry is fresh, only the announcement can end it.
    expect(await refusedWithin(ANNOUNCED_MS, () => checkedBy(a, token))).toBe(true);
  });

  it('refuses a machine’s token on every replica at once when `lapi` deletes it in the database', async () => {
    const name = unique('cli-deleted');
    const token = await agent(a, name);
    expect(await heartbeat(b, token)).toBe(200);
    expect(await checkedBy(a, token)).toBe(200); // now cached by a
    await sendAdminRequest(await cliConfig(a, env), { op: 'machines.delete', name });
    expect(await refusedWithin(ANNOUNCED_MS, () => checkedBy(a, token))).toBe(true);
    expect(await refusedWithin(ANNOUNCED_MS, () => checkedBy(b, token))).toBe(true);
  });

  it('refuses a machine’s token on every replica at once when the worker’s autodelete deletes it', async () => {
    const token = await agent(a, unique('worker-deleted'));
    expect(await heartbeat(b, token)).toBe(200);
    expect(await checkedBy(a, token)).toBe(200); // now cached by a
    // The deps the worker's retention job runs with (RetentionJobsService), its announcements included.
    const workerRedis = new Redis(process.env.TEST_REDIS_URL!, { maxRetriesPerRequest: null });
    try {
      const r = await autodeleteClients(
        {
          database: a.api.database,
          store: new PostgresEventStore(a.api.database.db, inlineProjections),
          barrier: inlineBarrier,
          credentials: new RedisCredentialChanges(workerRedis, redisKeys(redis.prefix).credentialChanges, () => {}),
        },
        { machines: { password: 1 }, bouncers: {} },
        new Date(Date.now() + HOUR_MS),
      );
      expect(r.machines.length).toBeGreaterThan(0);
    } finally {
      workerRedis.disconnect();
    }
    expect(await refusedWithin(ANNOUNCED_MS, () => checkedBy(a, token))).toBe(true);
    expect(await refusedWithin(ANNOUNCED_MS, () => checkedBy(b, token))).toBe(true);
  });

  it('refuses a deleted bouncer’s key on every replica at once, whoever deleted it', async () => {
    const pull = (t: TestApi, headers: Record<string, string>) => async () =>
      (await t.inject({ method: 'GET', url: '/v1/decisions', headers })).statusCode;
    const viaReplica = unique('bouncer-a');
    const viaCli = unique('bouncer-cli');
    const keys = { [viaReplica]: await a.bouncer(viaReplica), [viaCli]: await a.bouncer(viaCli) };
    for (const headers of Object.values(keys)) {
      expect(await pull(a, headers)()).toBe(200);
      expect(await pull(b, headers)()).toBe(200);
    }
    await a.admin({ op: 'bouncers.delete', name: viaReplica });
    await sendAdminRequest(await cliConfig(a, env), { op: 'bouncers.delete', name: viaCli });
    for (const headers of Object.values(keys)) {
      expect(await refusedWithin(ANNOUNCED_MS, pull(a, headers), 403)).toBe(true);
      expect(await refusedWithin(ANNOUNCED_MS, pull(b, headers), 403)).toBe(true);
    }
  });

  it('deletes a machine all the same when Redis cannot be reached to announce it', async () => {
    const name = unique('unannounced');
    await a.admin({ op: 'machines.add', name, password: `${name}-password` });
    const warnings: string[] = [];
    const stderr = jest.spyOn(process.stderr, 'write').mockImplementation((text) => {
      warnings.push(String(text));
      return true;
    });
    try {
      // Nothing listens on port 1.
      await sendAdminRequest(await cliConfig(a, { ...env, REDIS_URL: 'redis://127.0.0.1:1' }), {
        op: 'machines.delete',
        name,
      });
    } finally {
      stderr.mockRestore();
    }
    const machines = (await a.admin({ op: 'machines.list' })) as { machineId: string }[];
    expect(machines.map((m) => m.machineId)).not.toContain(name);
    expect(warnings.join('')).toContain(`could not announce machine ${name} deleted`);
  });

  it('refuses the old token of a name registered again, on every replica', async () => {
    const name = unique('replica-reborn');
    const old = await agent(a, name);
    expect(await heartbeat(a, old)).toBe(200);
    expect(await heartbeat(b, old)).toBe(200);
    a.clock.advance(1_000);
    b.clock.advance(1_000);
    // `lapi` in cluster mode writes to the database itself.
    await a.admin({ op: 'machines.delete', name });
    await a.admin({ op: 'machines.add', name, password: `${name}-password` });
    a.clock.advance(MACHINE_CACHE_TTL_MS);
    b.clock.advance(MACHINE_CACHE_TTL_MS);
    expect(await heartbeat(a, old)).toBe(401);
    expect(await heartbeat(b, old)).toBe(401);
    const current = await logIn(a, name);
    expect(await heartbeat(b, current)).toBe(200);
  });
});
