// Profile notifications in embedded mode, on the built server without Redis: an alert's notification fails while its
// receiver is away, `lapi notifications status` reports the retries through the admin socket and, the server stopped,
// from the files; after a restart the queued notification reaches the receiver.
import { agentAlertBody } from '@lapi/testing';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './reference';
import { describeResult, embeddedEnv, freePort, runLapi, startServer, type Env, type RunningServer } from './server';

const AGENT_UA = 'crowdsec/v1.4.6-6~deb12u1+b1-linux-debian';

interface Status {
  owner: string | null;
  jobs: Record<string, number>;
  plugins: { plugin: string; queued: number; delivered: number; failedAttempts: number; lastStatus: string | null }[];
  deadLetters: unknown[];
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() - started > timeoutMs) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(200);
  }
}

describe('profile notifications in embedded mode (built server, no Redis)', () => {
  let tmp: string;
  let env: Env;
  let server: RunningServer | undefined;
  let receiver: Server | undefined;
  const received: string[] = [];

  beforeAll(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-notify-embedded-'));
  });
  afterAll(async () => {
    await server?.stop();
    await new Promise((resolve) => (receiver ? receiver.close(resolve) : resolve(undefined)));
    rmSync(tmp, { recursive: true, force: true });
  });

  const status = async (): Promise<Status> => {
    const r = await runLapi(['notifications', 'status', '-o', 'json'], env);
    if (r.code !== 0) {
      throw new Error(describeResult('lapi notifications status', r));
    }
    return JSON.parse(r.stdout) as Status;
  };

  it('retries while the receiver is away, keeps the notification across a restart, then delivers it', async () => {
    const port = await freePort();
    writeFileSync(
      join(tmp, 'profiles.yaml'),
      [
        'name: notify_ip',
        'filters:',
        ' - Alert.GetScope() == "Ip"',
        'decisions:',
        ' - type: ban',
        '   duration: 4h',
        'notifications:',
        ' - late_receiver',
        'on_success: break',
        '',
      ].join('\n'),
    );
    mkdirSync(join(tmp, 'notifications'));
    writeFileSync(
      join(tmp, 'notifications', 'http.yaml'),
      [
        'type: http',
        'name: late_receiver',
        'format: "{{range .}}{{.Source.Value}}{{end}}"',
        `url: http://127.0.0.1:${port}/late`,
        'method: POST',
        '',
      ].join('\n'),
    );
    env = {
      ...embeddedEnv(join(tmp, 'data')),
      LAPI_PROFILES_PATH: join(tmp, 'profiles.yaml'),
      LAPI_NOTIFICATIONS_DIR: join(tmp, 'notifications'),
    };
    server = await startServer({ env });
    const add = await runLapi(['machines', 'add', 'agent', '--password', 'agent-password-1234'], env);
    expect(add.code).toBe(0);
    const login = await fetch(`${server.url}/v1/watchers/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': AGENT_UA },
      body: JSON.stringify({ machine_id: 'agent', password: 'agent-password-1234', scenarios: [] }),
    });
    expect([login.status, await login.clone().text()]).toEqual([200, expect.any(String)]);
    const { token } = (await login.json()) as { token: string };
    const posted = await fetch(`${server.url}/v1/alerts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': AGENT_UA, authorization: `Bearer ${token}` },
      body: JSON.stringify([agentAlertBody('198.51.100.7')]),
    });
    expect(posted.status).toBe(201);

    // Through the admin socket: the first attempt failed, a retry waits.
    const failing = await until('a failed attempt', async () => {
      const s = await status();
      return s.plugins[0]?.failedAttempts >= 1 ? s : undefined;
    });
    expect(failing.plugins[0]).toMatchObject({ plugin: 'late_receiver', delivered: 0 });
    expect(failing.owner).toEqual(expect.any(String));

    await server.stop();
    server = undefined;
    // The server stopped: read from the files; the notification is still there.
    const stopped = await status();
    expect(stopped.jobs.waiting + stopped.jobs.delayed).toBe(1);
    expect(stopped.plugins[0].delivered).toBe(0);

    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push(body);
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver!.listen(port, '127.0.0.1', resolve));
    server = await startServer({ env });
    await until('the delivery after the restart', () => Promise.resolve(received.length > 0 ? true : undefined));
    expect(received).toEqual(['198.51.100.7']);
    const done = await until('the status to show it', async () => {
      const s = await status();
      return s.plugins[0].delivered === 1 ? s : undefined;
    });
    expect(done.plugins[0]).toMatchObject({ queued: 0, lastStatus: '200' });
    expect(done.jobs).toEqual({ waiting: 0, delayed: 0, active: 0, failed: 0 });
  });
});
