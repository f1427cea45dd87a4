// Agent auto-registration, machine pruning and bouncers sharing a key, against the built server in embedded mode,
// with the real cscli 1.4.6 and the built `lapi` CLI. cscli 1.4.6 has no `--token`: the token registration is the
// HTTP call a newer agent makes, and the real cscli then logs in with the credentials it registered.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSCLI_MISSING_MESSAGE, cscliAvailable, makeCscliHome, runCscli } from './cscli';
import { embeddedEnv, httpGet, runLapi, startServer, type Env, type RunningServer } from './server';

const TOKEN = 'e2e-registration-token-0123456789abcdef';

/** POST /v1/watchers as an agent would. */
async function register(url: string, body: object): Promise<{ status: number; body: string }> {
  const res = await fetch(`${url}/v1/watchers`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'crowdsec/v1.6.5-linux' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.text() };
}

describe('registration, pruning and shared bouncer keys (embedded, real cscli)', () => {
  let tmp: string;
  let env: Env;
  let server: RunningServer;
  const lapi = (...args: string[]) => runLapi(args, env);

  beforeAll(async () => {
    if (!cscliAvailable()) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    tmp = mkdtempSync(join(tmpdir(), 'lapi-e2e-registration-'));
    env = {
      ...embeddedEnv(join(tmp, 'data')),
      LAPI_AUTO_REGISTRATION_TOKEN: TOKEN,
      LAPI_AUTO_REGISTRATION_ALLOWED_RANGES: '127.0.0.0/8,::1/128',
    };
    server = await startServer({ env });
  }, 180_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('validates an agent registering with the token at once: 202, and cscli logs in with its credentials', async () => {
    const res = await register(server.url, {
      machine_id: 'pod-1',
      password: 'pod-1-password',
      registration_token: TOKEN,
    });
    expect(res).toEqual({ status: 202, body: '' });
    const home = makeCscliHome(join(tmp, 'pod-1'), { url: server.url, login: 'pod-1', password: 'pod-1-password' });
    const status = await runCscli(home.configPath, ['lapi', 'status']);
    expect(status.output).toContain('You can successfully interact with Local API (LAPI)');
    expect(status.code).toBe(0);
  });

  it('lets the pod register again after a restart, and refuses the name to another password', async () => {
    const again = await register(server.url, {
      machine_id: 'pod-1',
      password: 'pod-1-password',
      registration_token: TOKEN,
    });
    expect(again.status).toBe(202);
    const other = await register(server.url, { machine_id: 'pod-1', password: 'not-it', registration_token: TOKEN });
    expect(other).toEqual({ status: 403, body: '{"message":"user \'pod-1\': user already exist"}' });
    const wrong = await register(server.url, {
      machine_id: 'pod-2',
      password: 'pw',
      registration_token: 'x'.repeat(32),
    });
    expect(wrong).toEqual({ status: 401, body: '{"message":"invalid token for auto registration"}' });
    const list = await lapi('machines', 'list', '-o', 'json');
    const machines = JSON.parse(list.stdout) as { machineId: string; isValidated: boolean }[];
    expect(machines.filter((m) => m.machineId.startsWith('pod-'))).toEqual([
      expect.objectContaining({ machineId: 'pod-1', isValidated: true }),
    ]);
  });

  it('keeps the token-less cscli lapi register path: pending until lapi machines validate', async () => {
    const home = makeCscliHome(join(tmp, 'old'), { url: server.url });
    const reg = await runCscli(home.configPath, ['lapi', 'register', '-u', server.url, '--machine', 'old-agent']);
    expect(reg.output).toContain('Successfully registered to Local API (LAPI)');
    expect((await runCscli(home.configPath, ['lapi', 'status'])).output).toContain('machine old-agent not validated');
    expect((await lapi('machines', 'validate', 'old-agent')).code).toBe(0);
    expect((await runCscli(home.configPath, ['lapi', 'status'])).code).toBe(0);
  });

  it('lapi machines prune lists nothing seen recently, and refuses a duration under 2m', async () => {
    const listed = await lapi('machines', 'prune', '--not-seen', '2m');
    expect(listed.code).toBe(0);
    expect(listed.stdout.trim()).toBe('No machines to prune.');
    const short = await lapi('machines', 'prune', '--not-seen', '1m', '--force');
    expect(short.code).not.toBe(0);
    expect(short.stderr).toContain('at least 2m');
  });

  it('gives processes sharing a bouncer key their own stream, and lists them as instances', async () => {
    const added = await lapi('bouncers', 'add', 'ingress', '-o', 'raw');
    expect(added.code).toBe(0);
    const key = added.stdout.trim();
    const headers = { 'x-api-key': key, 'user-agent': 'crowdsec-nginx-bouncer/v1.0.8' };
    const pull = async (extra: Record<string, string> = {}, startup = false) => {
      const res = await httpGet(`${server.url}/v1/decisions/stream${startup ? '?startup=true' : ''}`, {
        ...headers,
        ...extra,
      });
      expect(res?.status).toBe(200);
      return JSON.parse(res!.body) as { new: { value: string }[] | null };
    };
    await pull({}, true);
    await pull({ 'x-lapi-instance-id': 'pod-b' }, true);
    const admin = makeCscliHome(join(tmp, 'admin'), { url: server.url, login: 'pod-1', password: 'pod-1-password' });
    const ban = await runCscli(admin.configPath, ['decisions', 'add', '--ip', '192.0.2.44', '--duration', '1h']);
    expect(ban.code).toBe(0);
    // Both processes hear of the ban, each once.
    expect((await pull()).new?.map((d) => d.value)).toEqual(['192.0.2.44']);
    expect((await pull({ 'x-lapi-instance-id': 'pod-b' })).new?.map((d) => d.value)).toEqual(['192.0.2.44']);
    expect((await pull()).new).toBeNull();
    expect((await pull({ 'x-lapi-instance-id': 'pod-b' })).new).toBeNull();

    const list = await lapi('bouncers', 'list', '-o', 'json');
    expect(list.code).toBe(0);
    const rows = (
      JSON.parse(list.stdout) as { name: string; auto_created: boolean; last_pull: string | null }[]
    ).filter((r) => r.name.startsWith('ingress'));
    expect(rows.map((r) => [r.name, r.auto_created])).toEqual([
      ['ingress', false],
      ['ingress@pod-b', true],
    ]);
    expect(rows[1].last_pull).not.toBeNull();
    const human = await lapi('bouncers', 'list');
    expect(human.stdout).toContain('ingress@pod-b');
  });
});
