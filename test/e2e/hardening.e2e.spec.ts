// End-to-end: login throttling as the real cscli 1.4.6 sees it, and the client IP behind a trusted proxy, against
// the real built server (embedded mode). Needs `npm run build` and cscli (both provided by `npm test` / .ci/run).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSCLI_MISSING_MESSAGE, cscliAvailable, makeCscliHome, runCscli, writeCscliCredentials } from './cscli';
import {
  childEnv,
  describeResult,
  embeddedEnv,
  type Env,
  runLapi,
  type RunningServer,
  runProcess,
  SERVER_ENTRY,
  startServer,
} from './server';

const WRONG = 'wrong-password-e2e-7f3a';

describe('hardening with the real clients', () => {
  let tmp: string;
  let env: Env;
  let server: RunningServer;

  beforeAll(async () => {
    if (!cscliAvailable()) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    tmp = mkdtempSync(join(tmpdir(), 'lapi-hardening-e2e-'));
    env = {
      ...embeddedEnv(join(tmp, 'data')),
      LAPI_LOGIN_MAX_FAILURES_PER_MACHINE: '2',
      LAPI_LOGIN_FAILURE_WINDOW: '5s',
      // The test plays the proxy: it connects from loopback and sends X-Forwarded-For.
      LAPI_TRUSTED_PROXIES: '127.0.0.1',
    };
    server = await startServer({ env });
    const added = await runLapi(['machines', 'add', 'agent', '--password', 'agent-password'], env);
    expect(added.code).toBe(0);
  }, 90_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('cscli gets the 429 message after repeated failures, then logs in once the window is over', async () => {
    const home = makeCscliHome(join(tmp, 'cscli'), { url: server.url, login: 'agent', password: WRONG });
    const list = () => runCscli(home.configPath, ['alerts', 'list', '-o', 'json']);
    for (let i = 0; i < 2; i++) {
      const failed = await list();
      expect(failed.code).not.toBe(0);
      expect(failed.output).toMatch(/incorrect Username or Password/);
    }
    writeCscliCredentials(home.credentialsPath, { url: server.url, login: 'agent', password: 'agent-password' });
    const throttled = await list();
    expect(throttled.code).not.toBe(0);
    expect(throttled.output).toMatch(/too many failed login attempts, retry in \ds/);
    expect(throttled.output).not.toMatch(/panic|nil pointer/);

    await new Promise((r) => setTimeout(r, 5_500));
    const ok = await list();
    expect(ok.code).toBe(0);
    expect(server.output()).not.toContain(WRONG);
  }, 60_000);

  it('records the address a trusted proxy forwards as the machine’s', async () => {
    const register = (name: string, xff: string) =>
      fetch(`${server.url}/v1/watchers`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': xff },
        body: JSON.stringify({ machine_id: name, password: `${name}-password` }),
      });
    expect((await register('behind-proxy', '198.51.100.7')).status).toBe(201);
    const listed = await runLapi(['machines', 'list', '-o', 'json'], env);
    expect(listed.code).toBe(0);
    if (listed.code !== 0) {
      throw new Error(describeResult('lapi machines list -o json', listed));
    }
    const machines = JSON.parse(listed.stdout) as Record<string, unknown>[];
    const row = machines.find((m) => (m.machineId ?? m.machine_id) === 'behind-proxy');
    expect(row).toBeDefined();
    expect(row?.ipAddress ?? row?.ip_address).toBe('198.51.100.7');
  });
});

describe('start-up refusals of the built server', () => {
  let tmp: string;
  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-refusal-e2e-'));
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it.each([
    [{ LAPI_USE_FORWARDED_FOR_HEADERS: 'true' }, 'LAPI_USE_FORWARDED_FOR_HEADERS=true needs LAPI_TRUSTED_PROXIES'],
    [{ LAPI_TRUSTED_IPS: '127.0.0.1,10.0.0.0/33' }, 'LAPI_TRUSTED_IPS: expected a comma-separated list'],
  ])('%p: exits 1 with one clear line, no stack trace', async (bad, message) => {
    const run = await runProcess(process.execPath, [SERVER_ENTRY], {
      env: childEnv({ ...embeddedEnv(join(tmp, 'data')), LAPI_LISTEN_URI: '127.0.0.1:0', ...bad }),
      timeoutMs: 30_000,
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const problems = run.stderr.split('\n').filter((l) => l.startsWith('  - '));
    expect(problems).toEqual([expect.stringContaining(message)]);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
