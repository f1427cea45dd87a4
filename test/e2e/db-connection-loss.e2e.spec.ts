// End-to-end: PostgreSQL ends the API's connections while alerts are being pushed (pg_terminate_backend, as a
// failover, a PgBouncer reset or idle_session_timeout would). postgres.js 3.4.9 crashed the process on this
// (scripts/patch-postgres.js); the API must live on, answer the writes in flight 503, lose no acknowledged alert,
// and serve later writes.
import { agentAlertBody as alert, createScratchDatabase, testServerUrl } from '@lapi/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { describeResult, postgresEnv, runLapi, startServer, type Env, type RunningServer } from './server';

const PASSWORD = 'agent-password-123456';
// The agent's own (a login with another user agent is refused as the reference does).
const USER_AGENT = 'crowdsec/v1.4.6-debian';
const WRITERS = 6;
const KILLS = 3;
const REQUEST_TIMEOUT_MS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  status: number | 'no answer';
  body: string;
  retryAfter: string | null;
}

describe('the API when PostgreSQL ends its connections under concurrent writes', () => {
  let db: Awaited<ReturnType<typeof createScratchDatabase>>;
  let dir: string;
  let env: Env;
  let server: RunningServer;
  let token: string;

  beforeAll(async () => {
    db = await createScratchDatabase('lapi_test_connloss');
    dir = mkdtempSync(join(tmpdir(), 'lapi-connloss-'));
    env = postgresEnv(db.url, dir);
    const added = await runLapi(['machines', 'add', 'agent', '--password', PASSWORD], env);
    if (added.code !== 0) {
      throw new Error(describeResult('lapi machines add', added));
    }
    server = await startServer({ env });
    const login = await fetch(`${server.url}/v1/watchers/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': USER_AGENT },
      body: JSON.stringify({ machine_id: 'agent', password: PASSWORD, scenarios: [] }),
    });
    const answer = await login.text();
    if (login.status !== 200) {
      throw new Error(`login: ${login.status} ${answer}`);
    }
    token = (JSON.parse(answer) as { token: string }).token;
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const push = async (ip: string): Promise<Outcome & { ids: string[] }> => {
    try {
      const res = await fetch(`${server.url}/v1/alerts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'user-agent': USER_AGENT },
        body: JSON.stringify([alert(ip)]),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const body = await res.text();
      const ids = res.status === 201 ? (JSON.parse(body) as string[]) : [];
      return { status: res.status, body, retryAfter: res.headers.get('retry-after'), ids };
    } catch (error) {
      return { status: 'no answer', body: String(error), retryAfter: null, ids: [] };
    }
  };

  it('lives through three terminations: acknowledged alerts stored, in-flight writes 503, later writes 201', async () => {
    const dbName = new URL(db.url).pathname.slice(1);
    const admin = postgres(testServerUrl(), { max: 1, onnotice: () => undefined });
    const outcomes: Outcome[] = [];
    const acknowledged: string[] = [];
    let stop = false;
    let sent = 0;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        sent++;
        const r = await push(`10.${w}.${Math.floor(i / 250)}.${(i % 250) + 1}`);
        outcomes.push(r);
        acknowledged.push(...r.ids);
      }
    };
    const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));
    const terminated: number[] = [];
    try {
      for (let k = 0; k < KILLS; k++) {
        const before = sent;
        while (sent < before + 20) {
          await sleep(20);
        }
        const rows = await admin`
          select pg_terminate_backend(pid) as done from pg_stat_activity
          where datname = ${dbName} and pid <> pg_backend_pid()`;
        terminated.push(rows.filter((r) => r.done === true).length);
      }
      // Writes go on after the last termination: the pool reconnects.
      const before = sent;
      while (sent < before + 40) {
        await sleep(20);
      }
    } finally {
      stop = true;
      await Promise.all(writers);
      await admin.end();
    }

    // The process lived and is healthy.
    expect(() => process.kill(server.pid, 0)).not.toThrow();
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(server.output()).not.toMatch(/Cannot read properties of null|uncaught|TypeError/i);

    // Every termination ended connections of the API while it was writing.
    expect(terminated).toHaveLength(KILLS);
    expect(terminated.every((n) => n > 0)).toBe(true);

    // Every write was answered: 201, or 503 {"message"} with Retry-After for a write in flight.
    const failures = outcomes.filter((o) => o.status !== 201);
    expect(failures.filter((f) => f.status !== 503 || f.retryAfter !== '1')).toEqual([]);
    for (const f of failures) {
      expect(JSON.parse(f.body)).toEqual({ message: expect.any(String) });
    }
    // Only writes in flight fail: at most the pool's connections per termination.
    expect(failures.length).toBeLessThanOrEqual(KILLS * 10);
    expect(outcomes.length - failures.length).toBeGreaterThan(KILLS * 20);

    // Later writes succeed.
    for (let i = 1; i <= 5; i++) {
      const later = await push(`10.200.0.${i}`);
      expect(later.status).toBe(201);
      acknowledged.push(...later.ids);
    }

    // Every acknowledged alert is stored.
    const listed = await fetch(`${server.url}/v1/alerts?limit=100000`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(listed.status).toBe(200);
    const stored = new Set(((await listed.json()) as { id: number | string }[]).map((a) => String(a.id)));
    const missing = acknowledged.filter((id) => !stored.has(String(id)));
    expect(missing).toEqual([]);
  }, 180_000);
});
