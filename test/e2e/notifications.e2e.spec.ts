// Profile notifications end to end: cscli adds a decision through an API replica, the profile names three http
// plugins, and a worker delivers them — at once, after retries while the receiver is down, or to the dead-letter
// list — as `lapi notifications status` then reports; the signed decisions webhook reports the decision too.
import { createScratchDatabase } from '@lapi/testing';
import Redis from 'ioredis';
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKER_ENTRY } from './cluster-infra';
import { CSCLI_MISSING_MESSAGE, cscliAvailable, makeCscliHome, runCscli } from './cscli';
import { sleep, startBackground, type BackgroundProcess } from './reference';
import {
  childEnv,
  freePort,
  postgresEnv,
  REPO_ROOT,
  runLapi,
  startServer,
  type Env,
  type RunningServer,
} from './server';

interface Received {
  path: string;
  method: string;
  contentType: string | undefined;
  body: string;
}

function receiver(port: number, into: Received[]): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      into.push({ path: req.url!, method: req.method!, contentType: req.headers['content-type'], body });
      res.writeHead(200).end();
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000) {
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

const describeIfCscli = cscliAvailable() ? describe : describe.skip;
if (!cscliAvailable()) {
  console.warn(CSCLI_MISSING_MESSAGE);
}

describeIfCscli('profile notifications, delivered by a worker', () => {
  const prefix = `lapi-e2e-notify-${randomBytes(4).toString('hex')}:`;
  let tmp: string;
  let env: Env;
  let drop: () => Promise<void>;
  let api: RunningServer;
  let worker: BackgroundProcess;
  const servers: Server[] = [];
  const onTime: Received[] = [];
  const late: Received[] = [];
  const hooks: (Received & { signature: string })[] = [];
  const secret = randomBytes(24).toString('hex');
  let latePort: number;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-notify-'));
    const [onTimePort, closedPort] = [await freePort(), await freePort()];
    latePort = await freePort();
    servers.push(await receiver(onTimePort, onTime));
    const hookPort = await freePort();
    const hookServer = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        hooks.push({
          path: req.url!,
          method: req.method!,
          contentType: req.headers['content-type'],
          body,
          signature: String(req.headers['x-lapi-signature']),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(hookPort, '127.0.0.1', resolve));
    servers.push(hookServer);
    writeFileSync(
      join(tmp, 'profiles.yaml'),
      [
        // Not Debian's filter: cscli's alerts do not set remediation.
        'name: notify_ip',
        'filters:',
        ' - Alert.GetScope() == "Ip"',
        'decisions:',
        ' - type: ban',
        '   duration: 4h',
        'notifications:',
        ' - http_default',
        ' - late_receiver',
        ' - nowhere',
        'on_success: break',
        '',
      ].join('\n'),
    );
    // The format of CrowdSec's http.yaml example, and two plugins whose receivers are not there (yet).
    const dir = join(tmp, 'notifications');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'http.yaml'),
      [
        'type: http',
        'name: http_default',
        'log_level: info',
        'format: |',
        '  {{.|toJson}}',
        `url: http://127.0.0.1:${onTimePort}/hook`,
        'method: POST',
        'headers:',
        '  Content-Type: application/json',
        '---',
        'type: http',
        'name: late_receiver',
        'format: "{{range .}}{{.Source.Value}}{{end}}"',
        `url: http://127.0.0.1:${latePort}/late`,
        'method: PUT',
        '---',
        'type: http',
        'name: nowhere',
        'format: "{{len .}}"',
        `url: http://127.0.0.1:${closedPort}/`,
        'method: POST',
        'max_retry: 1',
        '',
      ].join('\n'),
    );
    const db = await createScratchDatabase('lapi_test_notify');
    drop = db.drop;
    env = {
      ...postgresEnv(db.url, join(tmp, 'data')),
      REDIS_URL: process.env.TEST_REDIS_URL,
      LAPI_REDIS_PREFIX: prefix,
      LAPI_PROFILES_PATH: join(tmp, 'profiles.yaml'),
      LAPI_NOTIFICATIONS_DIR: dir,
      LAPI_WEBHOOK_URL: `http://127.0.0.1:${hookPort}/decisions`,
      LAPI_WEBHOOK_SECRET: secret,
    };
    expect((await runLapi(['migrate'], env)).code).toBe(0);
    expect((await runLapi(['machines', 'add', 'cscli', '--password', 'cscli-password-123'], env)).code).toBe(0);
    worker = startBackground(process.execPath, [WORKER_ENTRY], { cwd: REPO_ROOT, env: childEnv(env) });
    api = await startServer({ env });
  });

  afterAll(async () => {
    await Promise.all([api?.stop(), worker?.stop()]);
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    const redis = new Redis(process.env.TEST_REDIS_URL!);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) {
      await redis.del(...keys);
    }
    await redis.quit();
    await drop?.();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('delivers what cscli decided to each plugin: at once, after retries, or to the dead-letter list', async () => {
    const home = makeCscliHome(join(tmp, 'cscli'), { url: api.url, login: 'cscli', password: 'cscli-password-123' });
    const add = await runCscli(home.configPath, ['decisions', 'add', '--ip', '192.0.2.10', '--duration', '1h']);
    expect(add.code).toBe(0);

    const [hook] = await until('the http_default notification', () => (onTime.length ? onTime : undefined));
    expect(hook).toMatchObject({ path: '/hook', method: 'POST', contentType: 'application/json' });
    const alerts = JSON.parse(hook.body) as {
      source: { value: string; scope: string };
      decisions: { value: string; duration: string; type: string; origin: string }[];
      scenario: string;
    }[];
    expect(alerts).toHaveLength(1);
    expect(alerts[0].source).toMatchObject({ scope: 'Ip', value: '192.0.2.10' });
    expect(alerts[0].decisions).toEqual([
      expect.objectContaining({ value: '192.0.2.10', duration: '1h', type: 'ban', origin: 'cscli' }),
    ]);

    // The late receiver comes up after the first attempts failed: the back-off (1 s, 2 s, …) gets it there.
    await sleep(1_500);
    servers.push(await receiver(latePort, late));
    const [put] = await until('the late_receiver notification', () => (late.length ? late : undefined));
    expect(put).toMatchObject({ path: '/late', method: 'PUT', body: '192.0.2.10' });

    const status = await until('the status to show every outcome', async () => {
      const r = await runLapi(['notifications', 'status', '-o', 'json'], env);
      const s = JSON.parse(r.stdout) as {
        lag: number;
        plugins: { plugin: string; delivered: number; failedAttempts: number; deadLettered: number }[];
        deadLetters: { plugin: string; reason: string; attempts: number }[];
      };
      const by = Object.fromEntries(s.plugins.map((p) => [p.plugin, p]));
      return by.nowhere?.deadLettered === 1 && by.late_receiver?.delivered === 1 ? { s, by } : undefined;
    });
    expect(status.by.http_default).toMatchObject({ delivered: 1, failedAttempts: 0, deadLettered: 0 });
    expect(status.by.late_receiver.failedAttempts).toBeGreaterThanOrEqual(1);
    expect(status.by.nowhere).toMatchObject({ delivered: 0, failedAttempts: 2 });
    expect(status.s.deadLetters).toEqual([
      expect.objectContaining({ plugin: 'nowhere', attempts: 2, reason: expect.stringMatching(/ECONNREFUSED/) }),
    ]);
    expect(status.s.lag).toBe(0);
    // The signed webhook told the decision too, signed with the shared secret.
    const [signed] = await until('the decisions webhook', () => (hooks.length ? hooks : undefined));
    expect(signed).toMatchObject({ path: '/decisions', method: 'POST', contentType: 'application/json' });
    const [, t, mac] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signed.signature)!;
    expect(createHmac('sha256', secret).update(`${t}.${signed.body}`).digest('hex')).toBe(mac);
    const changes = (JSON.parse(signed.body) as { changes: { action: string; decision: { value: string } }[] }).changes;
    expect(changes.map((c) => [c.action, c.decision.value])).toEqual([['added', '192.0.2.10']]);

    // Each plugin got the alert exactly once.
    expect(onTime).toHaveLength(1);
    expect(late).toHaveLength(1);
  });
});
