// The cluster as processes: two API replicas and a worker over one PostgreSQL database and one Redis, built from
// dist/ as they would run in containers. Replicas and workers are killed (SIGKILL) to show nothing depends on one.
import { createScratchDatabase } from '@lapi/testing';
import Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, startBackground, type BackgroundProcess } from './reference';
import { childEnv, postgresEnv, REPO_ROOT, runLapi, startServer, type Env, type RunningServer } from './server';

const WORKER_ENTRY = join(REPO_ROOT, 'dist', 'apps', 'worker', 'src', 'main.js');
const UA = 'crowdsec/v1.4.6-6~deb12u1+b1-linux-debian';
type Decision = { value: string };

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(100);
  }
}

describe('cluster of processes: 2 API replicas, workers, PostgreSQL, Redis', () => {
  const prefix = `lapi-e2e-${randomBytes(4).toString('hex')}:`;
  let tmp: string;
  let env: Env;
  let drop: () => Promise<void>;
  let redis: Redis;
  const apis: RunningServer[] = [];
  const workers: BackgroundProcess[] = [];
  let key: string;
  let token: string;

  const startWorker = () => {
    const worker = startBackground(process.execPath, [WORKER_ENTRY], { cwd: REPO_ROOT, env: childEnv(env) });
    workers.push(worker);
    return worker;
  };
  const ban = (api: RunningServer, ip: string) =>
    fetch(`${api.url}/v1/alerts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'user-agent': UA },
      body: JSON.stringify([
        {
          capacity: 0,
          decisions: [{ duration: '1h', origin: 'cscli', scenario: 'e2e', scope: 'Ip', type: 'ban', value: ip }],
          events: [],
          events_count: 1,
          leakspeed: '0',
          message: '',
          scenario: 'e2e',
          scenario_hash: '',
          scenario_version: '',
          simulated: false,
          source: { scope: 'Ip', value: ip },
          start_at: new Date().toISOString(),
          stop_at: new Date().toISOString(),
        },
      ]),
    });
  const lookup = async (api: RunningServer, ip: string) => {
    const res = await fetch(`${api.url}/v1/decisions?ip=${ip}`, { headers: { 'x-api-key': key } });
    return (await res.json()) as Decision[] | null;
  };
  const stream = async (api: RunningServer, query = '') => {
    const res = await fetch(`${api.url}/v1/decisions/stream${query}`, { headers: { 'x-api-key': key } });
    return (await res.json()) as { new: Decision[] | null; deleted: Decision[] | null };
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-cluster-'));
    const db = await createScratchDatabase('lapi_test_cluster');
    drop = db.drop;
    env = {
      ...postgresEnv(db.url, join(tmp, 'data')),
      REDIS_URL: process.env.TEST_REDIS_URL,
      LAPI_REDIS_PREFIX: prefix,
    };
    redis = new Redis(process.env.TEST_REDIS_URL!);
    expect((await runLapi(['migrate'], env)).code).toBe(0);
    expect((await runLapi(['machines', 'add', 'agent', '--password', 'agent-password-123'], env)).code).toBe(0);
    key = (await runLapi(['bouncers', 'add', 'fw', '-o', 'raw'], env)).stdout.trim();
    startWorker();
    apis.push(await startServer({ env }), await startServer({ env }));
    const login = await fetch(`${apis[0].url}/v1/watchers/login`, {
      method: 'POST',
      headers: { 'user-agent': UA },
      body: JSON.stringify({ machine_id: 'agent', password: 'agent-password-123' }),
    });
    token = ((await login.json()) as { token: string }).token;
  });

  afterAll(async () => {
    await Promise.all([...apis.map((a) => a.stop()), ...workers.map((w) => w.stop())]);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) {
      await redis.del(...keys);
    }
    await redis.quit();
    await drop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('answers a bouncer on one replica with what the other replica was just told', async () => {
    await stream(apis[0], '?startup=true');
    expect((await ban(apis[0], '192.0.2.1')).status).toBe(201);
    expect((await lookup(apis[1], '192.0.2.1'))?.map((d) => d.value)).toEqual(['192.0.2.1']);
    expect((await stream(apis[1])).new?.map((d) => d.value)).toEqual(['192.0.2.1']);
  });

  it('keeps projecting when the worker is killed and another one starts', async () => {
    process.kill(workers[0].pid, 'SIGKILL');
    await until('the first worker to die', () => Promise.resolve(workers[0].exited() ? true : undefined));
    const replacement = startWorker();
    expect((await ban(apis[1], '192.0.2.2')).status).toBe(201);
    // The new worker takes the lease once the dead one's expires (≤ 5 s), then projects the write.
    await until('the replacement worker to project', async () =>
      (await lookup(apis[0], '192.0.2.2'))?.length ? true : undefined,
    );
    const status = await runLapi(['projections', 'status', '-o', 'json'], env);
    const [decisions] = JSON.parse(status.stdout) as { owner: string; lag: number }[];
    expect(decisions.owner).toContain(`:${replacement.pid}:`);
    expect(decisions.lag).toBe(0);
  });

  it('serves the same bouncer stream from the surviving replica when one is killed', async () => {
    process.kill(apis[0].pid, 'SIGKILL');
    expect((await ban(apis[1], '192.0.2.3')).status).toBe(201);
    const page = await stream(apis[1]);
    expect(page.new?.map((d) => d.value)).toEqual(['192.0.2.2', '192.0.2.3']);
    expect(await stream(apis[1])).toEqual({ new: null, deleted: null });
  });
});
