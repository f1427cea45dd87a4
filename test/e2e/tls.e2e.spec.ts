// HTTPS with client certificates, driven by the real clients: cscli 1.4.6 logs in with a certificate (its
// credentials file has cert_path/key_path/ca_cert_path instead of login/password) and crowdsec-custom-bouncer pulls
// with one instead of an API key; both end up as `<CN>@<IP>` with auth type tls.
import { createTestPki, type TestPki } from '@lapi/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCustomBouncer, type RunningCustomBouncer } from './clients';
import { makeCscliHome, runCscli } from './cscli';
import { describeResult, embeddedEnv, runLapi, startServer, type Env, type RunningServer } from './server';

describe('TLS client certificates with the real cscli and custom bouncer', () => {
  let tmp: string;
  let pki: TestPki;
  let env: Env;
  let server: RunningServer;
  let bouncer: RunningCustomBouncer | undefined;
  let cscliConfig: string;
  const cscli = async (...args: string[]) => {
    const r = await runCscli(cscliConfig, args);
    expect({ code: r.code, why: describeResult(`cscli ${args.join(' ')}`, r) }).toMatchObject({ code: 0 });
    return r;
  };
  const listJson = async (what: 'machines' | 'bouncers') => {
    const r = await runLapi([what, 'list', '-o', 'json'], env);
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>[];
  };

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-tls-e2e-'));
    pki = createTestPki();
    env = {
      ...embeddedEnv(join(tmp, 'data')),
      LAPI_TLS_CERT_FILE: pki.server.certFile,
      LAPI_TLS_KEY_FILE: pki.server.keyFile,
      LAPI_TLS_CA_CERT_FILE: pki.caCertFile,
      LAPI_TLS_CRL_FILE: pki.crlFile,
    };
    server = await startServer({ env, https: true });
    const agent = pki.issue('cscli', { cn: 'cscli-agent', ou: 'agent-ou' });
    const credentialsPath = join(tmp, 'local_api_credentials.yaml');
    writeFileSync(
      credentialsPath,
      [
        `url: ${server.url}/`,
        `ca_cert_path: ${pki.caCertFile}`,
        `cert_path: ${agent.certFile}`,
        `key_path: ${agent.keyFile}`,
        '',
      ].join('\n'),
    );
    cscliConfig = makeCscliHome(join(tmp, 'cscli'), { credentialsPath }).configPath;
  }, 90_000);

  afterAll(async () => {
    await bouncer?.stop();
    await server?.stop();
    pki?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('cscli adds a decision by certificate and the custom bouncer, by certificate too, applies it', async () => {
    await cscli('decisions', 'add', '-i', '192.0.2.7', '-d', '1h', '-R', 'tls e2e');
    const listed = await cscli('decisions', 'list', '-o', 'json');
    expect(listed.stdout).toContain('192.0.2.7');

    const cert = pki.issue('custom', { cn: 'custom', ou: 'bouncer-ou' });
    bouncer = startCustomBouncer({
      dir: join(tmp, 'custom-bouncer'),
      apiUrl: server.url,
      tls: { certPath: cert.certFile, keyPath: cert.keyFile, caCertPath: pki.caCertFile },
    });
    const add = await bouncer.waitForCall('add 192.0.2.7', (c) => c.action === 'add' && c.value === '192.0.2.7');
    expect(add.seconds).toBeGreaterThan(3500);

    await cscli('decisions', 'delete', '-i', '192.0.2.7');
    await bouncer.waitForCall('del 192.0.2.7', (c) => c.action === 'del' && c.value === '192.0.2.7');

    expect(await listJson('machines')).toEqual([
      expect.objectContaining({ machineId: 'cscli-agent@127.0.0.1', isValidated: true, auth_type: 'tls' }),
    ]);
    expect(await listJson('bouncers')).toEqual([
      expect.objectContaining({ name: 'custom@127.0.0.1', auth_type: 'tls', type: 'crowdsec-custom-bouncer' }),
    ]);
  }, 60_000);

  it('refuses cscli once its certificate is revoked', async () => {
    pki.revoke('cscli');
    await new Promise((resolve) => setTimeout(resolve, 5_500)); // the CRL is looked at again every 5 s
    const r = await runCscli(cscliConfig, ['decisions', 'add', '-i', '192.0.2.8', '-d', '1h']);
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('API error: access forbidden');
  }, 30_000);
});
