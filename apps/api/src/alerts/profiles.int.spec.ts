import { loadConfig } from '@lapi/config';
import { parseGoDuration } from '@lapi/domain';
import { agentAlertBody as alert, openTestDatabase, TEST_JWT_SECRET } from '@lapi/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApi, type TestApi } from '../../test/api-harness';
import { createApiApp } from '../app.factory';

describe('profiles from LAPI_PROFILES_PATH', () => {
  let dir: string;
  let t: TestApi;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lapi-profiles-'));
    writeFileSync(
      join(dir, 'profiles.yaml'),
      [
        'name: captcha_http',
        'filters:',
        ' - Alert.Remediation == true && Alert.GetScenario() contains "http"',
        'decisions:',
        ' - type: captcha',
        '   duration: 1h',
        'on_success: break',
        '---',
        'name: escalating_ban',
        'filters:',
        ' - Alert.Remediation == true && Alert.GetScope() == "Ip"',
        'decisions:',
        ' - type: ban',
        '   duration: 4h',
        "duration_expr: Sprintf('%dh', (GetDecisionsCount(Alert.GetValue()) + 1) * 4)",
        'on_success: break',
        '---',
        // Nested quantifiers: catastrophic backtracking on V8's RegExp, linear on RE2.
        'name: ssh_bf_any_namespace',
        'filters:',
        ' - Alert.GetScenario() matches "^([a-z0-9]+-?)+/ssh-bf$"',
        'decisions:',
        ' - type: ban',
        '   duration: 2h',
        'on_success: break',
        '',
      ].join('\n'),
    );
    t = await startTestApi('pglite', { LAPI_PROFILES_PATH: join(dir, 'profiles.yaml') });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies the first matching profile, with duration_expr counting earlier decisions', async () => {
    const agent = await t.machine('agent');
    const bouncer = await t.bouncer('b');
    const push = (a: object) => t.inject({ method: 'POST', url: '/v1/alerts', headers: agent, payload: [a] });
    expect((await push(alert('192.0.2.1', 'crowdsecurity/http-probing'))).statusCode).toBe(201);
    expect((await push(alert('192.0.2.2', 'crowdsecurity/ssh-bf'))).statusCode).toBe(201);
    expect((await push(alert('192.0.2.2', 'crowdsecurity/ssh-bf'))).statusCode).toBe(201);
    const res = await t.inject({ method: 'GET', url: '/v1/decisions?scopes=Ip&dedup=false', headers: bouncer });
    const decisions = res.json<{ value: string; type: string; duration: string; origin: string }[]>();
    const hours = (d: string) => Math.round(Number(parseGoDuration(d)) / 3.6e12);
    expect(decisions.map((d) => [d.value, d.type, d.origin, hours(d.duration)])).toEqual([
      ['192.0.2.1', 'captcha', 'crowdsec', 1],
      ['192.0.2.2', 'ban', 'crowdsec', 4],
      ['192.0.2.2', 'ban', 'crowdsec', 8],
    ]);
  });

  it('evaluates a nested-quantifier filter on a hostile scenario in linear time', async () => {
    const agent = await t.machine('agent');
    // Remediation false: the first two profiles pass, the regexp filter is evaluated.
    const push = (ip: string, scenario: string) =>
      t.inject({
        method: 'POST',
        url: '/v1/alerts',
        headers: agent,
        payload: [{ ...alert(ip, scenario), remediation: false }],
      });
    const started = performance.now();
    // 35 × "a" + "!": 26 s of backtracking on V8's RegExp.
    expect((await push('192.0.2.3', `${'a'.repeat(35)}!`)).statusCode).toBe(201);
    expect(performance.now() - started).toBeLessThan(5000);
    expect((await push('192.0.2.4', 'crowdsecurity-x/ssh-bf')).statusCode).toBe(201);
    const bouncer = await t.bouncer('b2');
    const res = await t.inject({ method: 'GET', url: '/v1/decisions?scopes=Ip&dedup=false', headers: bouncer });
    const values = res.json<{ value: string; type: string }[]>().map((d) => `${d.value} ${d.type}`);
    expect(values).toContain('192.0.2.4 ban');
    expect(values.some((v) => v.startsWith('192.0.2.3 '))).toBe(false);
  });
});

describe('a bad profiles file', () => {
  it('stops start-up with the file, the profile and the unsupported construct', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lapi-profiles-'));
    const path = join(dir, 'profiles.yaml');
    writeFileSync(
      path,
      'name: broken\nfilters:\n - Alert.GetScope() == "Ip" && Frobnicate(Alert)\ndecisions:\n - type: ban\n   duration: 4h\n',
    );
    const db = await openTestDatabase('pglite');
    const config = loadConfig({
      DATABASE_URL: 'postgres://unused/x',
      CS_LAPI_SECRET: TEST_JWT_SECRET,
      LAPI_PROFILES_PATH: path,
      LAPI_LOG_LEVEL: 'error',
    });
    try {
      await expect(createApiApp(config, db.handle)).rejects.toThrow(/profiles\.yaml.*'broken'.*Frobnicate/s);
    } finally {
      await db.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
