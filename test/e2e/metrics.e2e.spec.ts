// End-to-end: the real `cscli metrics -u <our metrics URL>` (1.4.6) reads our Prometheus listener as it reads the
// reference's: its Local API tables fill from the cs_lapi_* and cs_active_decisions / cs_alerts metrics. The
// listener is LAPI_METRICS_LISTEN_URI, apart from the API port, which answers /metrics with 404.
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSCLI_MISSING_MESSAGE, cscliAvailable, makeCscliHome, runCscli } from './cscli';
import { describeResult, embeddedEnv, freePort, httpGet, runLapi, startServer, type RunningServer } from './server';

describe('cscli metrics against the metrics listener (embedded mode)', () => {
  let tmp: string;
  let server: RunningServer;
  let metricsUrl: string;

  beforeAll(async () => {
    if (!cscliAvailable()) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    tmp = mkdtempSync(join(tmpdir(), 'lapi-metrics-e2e-'));
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}`;
    server = await startServer({
      env: { ...embeddedEnv(join(tmp, 'data')), LAPI_METRICS_LISTEN_URI: `127.0.0.1:${metricsPort}` },
    });
  });

  afterAll(async () => {
    await server?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('shows the routes, the machine, the bouncer, its ok/ko lookups, the active decisions and the alerts', async () => {
    const env = embeddedEnv(join(tmp, 'data'));
    const credentials = join(tmp, 'credentials.yaml');
    const add = await runLapi(
      ['machines', 'add', 'metrics-agent', '--auto', '-f', credentials, '--url', server.url],
      env,
    );
    expect(add.code).toBe(0);
    const home = makeCscliHome(join(tmp, 'cscli'), { credentialsPath: credentials });
    // cscli metrics refuses to run unless the config enables prometheus.
    appendFileSync(home.configPath, 'prometheus:\n  enabled: true\n  level: full\n');
    const ban = await runCscli(home.configPath, ['decisions', 'add', '-i', '192.0.2.9', '-d', '1h']);
    expect(ban.code).toBe(0);
    const bouncer = await runLapi(['bouncers', 'add', 'metrics-fw', '-o', 'raw'], env);
    expect(bouncer.code).toBe(0);
    const key = bouncer.stdout.trim();
    expect((await httpGet(`${server.url}/v1/decisions?ip=192.0.2.9`, { 'x-api-key': key }))?.status).toBe(200);
    expect((await httpGet(`${server.url}/v1/decisions?ip=198.51.100.1`, { 'x-api-key': key }))?.status).toBe(200);

    // The API port has no /metrics: an unknown route there (404, empty body as gin's).
    expect(await httpGet(`${server.url}/metrics`)).toEqual({ status: 404, body: '' });
    // -u takes the base URL: cscli appends /metrics.
    const metrics = await runCscli(home.configPath, ['metrics', '-u', metricsUrl]);
    const what = describeResult('cscli metrics', metrics);
    if (metrics.code !== 0) {
      throw new Error(what);
    }
    const out = metrics.stdout;
    // A table row of cscli's output: `| a | b | c |`.
    const row = (...cells: string[]) =>
      new RegExp(`\\|\\s*${cells.map((c) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('\\s*\\|\\s*')}\\s*\\|`);
    expect(out).toMatch(/Local Api Metrics/);
    expect(out).toMatch(row('/v1/watchers/login', 'POST', '1'));
    expect(out).toMatch(row('/v1/alerts', 'POST', '1'));
    expect(out).toMatch(row('/v1/decisions', 'GET', '2'));
    expect(out).toMatch(/Local Api Machines Metrics/);
    expect(out).toMatch(row('metrics-agent', '/v1/alerts', 'POST', '1'));
    expect(out).toMatch(/Local Api Bouncers Metrics/);
    expect(out).toMatch(row('metrics-fw', '/v1/decisions', 'GET', '2'));
    // One lookup found the ban, one found nothing.
    expect(out).toMatch(/Local Api Bouncers Decisions/);
    expect(out).toMatch(row('metrics-fw', '1', '1'));
    expect(out).toMatch(/Local Api Decisions/);
    expect(out).toMatch(row("manual 'ban' from 'metrics-agent'", 'cscli', 'ban', '1'));
    expect(out).toMatch(/Local Api Alerts/);
    expect(out).toMatch(row("manual 'ban' from 'metrics-agent'", '1'));
    expect(out).not.toMatch(/\/metrics/);
    expect(what).not.toMatch(/error/i);
  });
});
