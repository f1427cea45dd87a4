import { ConfigError, loadConfig } from '@lapi/config';
import { createTestPki, TEST_BACKENDS, type IssuedCertificate, type TestPki } from '@lapi/testing';
import { readFileSync } from 'node:fs';
import { Agent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { AGENT_UA, startTestApi, type TestApi } from '../../../test/api-harness';
import { loadTlsServer } from '../../http/tls-server';
import { CRL_RECHECK_MS } from './crl-file';

const BOUNCER_UA = 'crowdsec-custom-bouncer/v0.0.15';
const FORBIDDEN = { status: 403, body: '{"message":"access forbidden"}' };

interface Call {
  method?: string;
  path: string;
  cert?: IssuedCertificate;
  headers?: Record<string, string>;
  body?: unknown;
  agent?: Agent;
}

/** One HTTPS request to the listening app, trusting the test CA, with a client certificate or none. */
function call(pki: TestPki, port: number, c: Call): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const payload = c.body === undefined ? undefined : JSON.stringify(c.body);
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        servername: 'localhost',
        method: c.method ?? 'GET',
        path: c.path,
        ca: readFileSync(pki.caCertFile),
        ...(c.cert ? { cert: readFileSync(c.cert.certFile), key: readFileSync(c.cert.keyFile) } : {}),
        agent: c.agent ?? false,
        headers: { ...(payload ? { 'content-type': 'application/json' } : {}), ...c.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function listen(api: TestApi): Promise<number> {
  await api.api.app.listen(0, '127.0.0.1');
  return (api.api.app.getHttpServer().address() as AddressInfo).port;
}

const DAY_MS = 86_400_000;

describe.each(TEST_BACKENDS)('client-certificate authentication over HTTPS (%s)', (backend) => {
  let pki: TestPki;
  let strangers: TestPki;
  let api: TestApi;
  let port: number;
  const certs = {} as Record<
    'agent' | 'bouncer' | 'otherOu' | 'revoked' | 'revokedAgent' | 'expired' | 'stranger',
    IssuedCertificate
  >;
  const get = (c: Omit<Call, 'method'>) => call(pki, port, c);
  const post = (c: Omit<Call, 'method'>) => call(pki, port, { ...c, method: 'POST' });

  beforeAll(async () => {
    pki = createTestPki();
    strangers = createTestPki();
    certs.agent = pki.issue('agent', { cn: 'agent1', ou: 'agent-ou' });
    certs.bouncer = pki.issue('bouncer', { cn: 'fw1', ou: ['edge', 'bouncer-ou'] });
    certs.otherOu = pki.issue('other-ou', { cn: 'someone', ou: 'other-ou' });
    certs.revoked = pki.issue('revoked', { cn: 'lost', ou: 'bouncer-ou' });
    certs.expired = pki.issue(
      'expired',
      { cn: 'old', ou: 'bouncer-ou' },
      { start: new Date(Date.now() - 30 * DAY_MS), end: new Date(Date.now() - DAY_MS) },
    );
    // Signed by a CA the server does not know.
    certs.stranger = strangers.issue('stranger', { cn: 'fw1', ou: 'bouncer-ou' });
    certs.revokedAgent = pki.issue('revoked-agent', { cn: 'lost-agent', ou: 'agent-ou' });
    pki.revoke('revoked');
    pki.revoke('revoked-agent');
    api = await startTestApi(backend, {
      LAPI_TLS_CERT_FILE: pki.server.certFile,
      LAPI_TLS_KEY_FILE: pki.server.keyFile,
      LAPI_TLS_CA_CERT_FILE: pki.caCertFile,
      LAPI_TLS_CRL_FILE: pki.crlFile,
    });
    port = await listen(api);
  });

  afterAll(async () => {
    await api?.close();
    pki?.dispose();
    strangers?.dispose();
  });

  describe('bouncers', () => {
    it('authenticates a bouncer by certificate, without a key, as `<CN>@<IP>` with auth type tls', async () => {
      const first = await get({
        path: '/v1/decisions?ip=1.2.3.4',
        cert: certs.bouncer,
        headers: { 'user-agent': BOUNCER_UA },
      });
      expect(first).toEqual({ status: 200, body: 'null' });
      const again = await get({
        path: '/v1/decisions/stream?startup=true',
        cert: certs.bouncer,
        headers: { 'user-agent': BOUNCER_UA },
      });
      expect(again.status).toBe(200);
      const bouncers = (await api.admin({ op: 'bouncers.list' })) as {
        name: string;
        authType: string;
        type: string;
        ipAddress: string;
      }[];
      expect(bouncers.filter((b) => b.name.startsWith('fw1'))).toEqual([
        expect.objectContaining({
          name: 'fw1@127.0.0.1',
          authType: 'tls',
          type: 'crowdsec-custom-bouncer',
          ipAddress: '127.0.0.1',
        }),
      ]);
      // Written as any registration is: an event in the bouncer's stream.
      const events = await api.api.database.db
        .selectFrom('events')
        .select(['type', 'data'])
        .where('stream_id', '=', 'bouncer-fw1@127.0.0.1')
        .where('type', '=', 'BouncerAdded')
        .execute();
      expect(events).toEqual([
        { type: 'BouncerAdded', data: expect.objectContaining({ name: 'fw1@127.0.0.1', authType: 'tls' }) },
      ]);
    });

    it('lets the certificate decide even when a wrong key is sent along', async () => {
      const res = await get({
        path: '/v1/decisions',
        cert: certs.bouncer,
        headers: { 'x-api-key': 'not-a-key-at-all-1234', 'user-agent': BOUNCER_UA },
      });
      expect(res.status).toBe(200);
    });

    it('refuses an agent certificate, a revoked, an expired and an unknown CA’s one with 403 access forbidden', async () => {
      for (const cert of [certs.agent, certs.otherOu, certs.revoked, certs.expired, certs.stranger]) {
        expect(await get({ path: '/v1/decisions', cert, headers: { 'user-agent': BOUNCER_UA } })).toEqual(FORBIDDEN);
      }
      const names = ((await api.admin({ op: 'bouncers.list' })) as { name: string }[]).map((b) => b.name);
      expect(names).toEqual(['fw1@127.0.0.1']);
    });

    it('still takes API keys from clients without a certificate (VerifyClientCertIfGiven)', async () => {
      const headers = await api.bouncer('keyed');
      expect(await get({ path: '/v1/decisions', headers })).toEqual({ status: 200, body: 'null' });
      expect(await get({ path: '/v1/decisions' })).toEqual(FORBIDDEN);
    });

    it('refuses a certificate for a name an API-key bouncer already has', async () => {
      await api.admin({ op: 'bouncers.add', name: 'taken@127.0.0.1' });
      const cert = pki.issue('taken', { cn: 'taken', ou: 'bouncer-ou' });
      expect(await get({ path: '/v1/decisions', cert })).toEqual(FORBIDDEN);
    });
  });

  describe('agents', () => {
    const login = (cert: IssuedCertificate | undefined, body: unknown = {}, ua = AGENT_UA) =>
      post({ path: '/v1/watchers/login', cert, body, headers: { 'user-agent': ua } });

    it('logs an agent in by certificate without a password, creating `<CN>@<IP>` validated with auth type tls', async () => {
      const res = await login(certs.agent, { scenarios: ['crowdsecurity/ssh-bf'] });
      expect(res.status).toBe(200);
      const { token } = JSON.parse(res.body) as { token: string };
      const machines = (await api.admin({ op: 'machines.list' })) as {
        machineId: string;
        authType: string;
        validated: boolean;
        scenarios: string | null;
        ipAddress: string;
      }[];
      expect(machines).toEqual([
        expect.objectContaining({
          machineId: 'agent1@127.0.0.1',
          authType: 'tls',
          validated: true,
          scenarios: 'crowdsecurity/ssh-bf',
          ipAddress: '127.0.0.1',
        }),
      ]);
      // The token works like any machine's.
      const heartbeat = await get({ path: '/v1/heartbeat', headers: { authorization: `Bearer ${token}` } });
      expect(heartbeat.status).toBe(200);
      const alerts = await get({ path: '/v1/alerts', headers: { authorization: `Bearer ${token}` } });
      expect(alerts).toEqual({ status: 200, body: 'null' }); // the reference's answer for no alerts
    });

    it('logs the same machine in again, whatever machine_id and password the body carries', async () => {
      const res = await login(certs.agent, { machine_id: 'someone-else', password: 'wrong' });
      expect(res.status).toBe(200);
      const ids = ((await api.admin({ op: 'machines.list' })) as { machineId: string }[]).map((m) => m.machineId);
      expect(ids).toEqual(['agent1@127.0.0.1']);
    });

    it('refuses a bouncer, other-OU, revoked, expired or unknown CA’s certificate with 403', async () => {
      for (const cert of [certs.bouncer, certs.otherOu, certs.revokedAgent, certs.expired, certs.stranger]) {
        expect(await login(cert)).toEqual(FORBIDDEN);
      }
    });

    it('refuses a User-Agent without a version, as for passwords', async () => {
      const res = await login(certs.agent, {}, 'curl');
      expect(res).toEqual({ status: 401, body: '{"code":401,"message":"incorrect Username or Password"}' });
    });

    it('still logs password machines in without a certificate, and refuses a password for a certificate machine', async () => {
      await api.admin({ op: 'machines.add', name: 'pw-agent', password: 'pw-agent-password' });
      expect((await login(undefined, { machine_id: 'pw-agent', password: 'pw-agent-password' })).status).toBe(200);
      const res = await login(undefined, { machine_id: 'agent1@127.0.0.1', password: 'anything' });
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body)).toMatchObject({
        message: 'machine agent1@127.0.0.1 attempted to auth with password but it is configured to use tls',
      });
    });
  });

  it('reads a body over 2 MiB only with an accepted certificate (then the route’s guard answers)', async () => {
    const big = ' '.repeat(3 * 1024 * 1024);
    const send = (cert?: IssuedCertificate) => post({ path: '/v1/alerts', cert, body: big });
    // Accepted: the body is read and the machine route refuses a bouncer's certificate as usual.
    expect((await send(certs.bouncer)).status).toBe(401);
    for (const refused of [undefined, certs.otherOu, certs.revoked, certs.stranger]) {
      expect((await send(refused)).status).toBe(413);
    }
  });

  it('applies a new CRL within seconds, to connections already open too', async () => {
    const cert = pki.issue('soon-lost', { cn: 'soon-lost', ou: 'bouncer-ou' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get({ path: '/v1/decisions', cert, agent })).status).toBe(200);
      pki.revoke('soon-lost');
      await new Promise((resolve) => setTimeout(resolve, CRL_RECHECK_MS + 500));
      expect(await get({ path: '/v1/decisions', cert, agent })).toEqual(FORBIDDEN);
    } finally {
      agent.destroy();
    }
  }, 20_000);

  it('refuses the JWT of a certificate login once the certificate is in the CRL, without the certificate too', async () => {
    const cert = pki.issue('agent-lost-later', { cn: 'lost-later', ou: 'agent-ou' });
    const res = await post({ path: '/v1/watchers/login', cert, body: {}, headers: { 'user-agent': AGENT_UA } });
    expect(res.status).toBe(200);
    const { token } = JSON.parse(res.body) as { token: string };
    // The token names the certificate it came from (the client never reads claims).
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>;
    expect(Object.keys(claims).sort()).toEqual(['cert_serial', 'exp', 'id', 'orig_iat']);
    const bearer = { authorization: `Bearer ${token}` };
    expect((await get({ path: '/v1/heartbeat', headers: bearer })).status).toBe(200);
    expect((await get({ path: '/v1/refresh_token', headers: bearer })).status).toBe(200);
    pki.revoke('agent-lost-later');
    await new Promise((resolve) => setTimeout(resolve, CRL_RECHECK_MS + 500));
    const refused = { status: 401, body: '{"code":401,"message":"token revoked: client certificate revoked"}' };
    expect(await get({ path: '/v1/heartbeat', headers: bearer })).toEqual(refused);
    expect(await get({ path: '/v1/alerts', headers: bearer, cert })).toEqual(refused);
    expect(await get({ path: '/v1/refresh_token', headers: bearer })).toEqual(refused);
  }, 20_000);
});

describe('client_verification modes (postgres)', () => {
  let pki: TestPki;
  const started: TestApi[] = [];

  beforeAll(() => {
    pki = createTestPki();
  });

  afterAll(async () => {
    await Promise.all(started.map((api) => api.close()));
    pki?.dispose();
  });

  const start = async (mode: string) => {
    const api = await startTestApi('postgres', {
      LAPI_TLS_CERT_FILE: pki.server.certFile,
      LAPI_TLS_KEY_FILE: pki.server.keyFile,
      LAPI_TLS_CA_CERT_FILE: pki.caCertFile,
      LAPI_TLS_CLIENT_VERIFICATION: mode,
    });
    started.push(api);
    return { api, port: await listen(api) };
  };

  it('RequireAndVerifyClientCert refuses a client without a certificate at the handshake, as Go does', async () => {
    const { api, port } = await start('RequireAndVerifyClientCert');
    const headers = await api.bouncer('keyed');
    await expect(call(pki, port, { path: '/v1/decisions', headers })).rejects.toThrow();
    const cert = pki.issue('required', { cn: 'fw', ou: 'bouncer-ou' });
    expect(await call(pki, port, { path: '/v1/decisions', cert })).toEqual({ status: 200, body: 'null' });
  });

  it('NoClientCert never asks for a certificate: only API keys count', async () => {
    const { api, port } = await start('NoClientCert');
    const cert = pki.issue('unasked', { cn: 'fw', ou: 'bouncer-ou' });
    expect(await call(pki, port, { path: '/v1/decisions', cert })).toEqual(FORBIDDEN);
    const headers = await api.bouncer('keyed');
    expect(await call(pki, port, { path: '/v1/decisions', cert, headers })).toEqual({ status: 200, body: 'null' });
  });

  it('RequestClientCert asks for a certificate but never trusts one', async () => {
    const { port } = await start('RequestClientCert');
    const cert = pki.issue('untrusted', { cn: 'fw', ou: 'bouncer-ou' });
    expect(await call(pki, port, { path: '/v1/decisions', cert })).toEqual(FORBIDDEN);
  });

  it('stops start-up on unreadable or mismatched files, naming the variable', () => {
    const tlsOf = (env: Record<string, string>) => {
      const { tls } = loadConfig(env);
      return () => loadTlsServer(tls!, () => undefined);
    };
    const server = { LAPI_TLS_CERT_FILE: pki.server.certFile, LAPI_TLS_KEY_FILE: pki.server.keyFile };
    expect(tlsOf({ ...server, LAPI_TLS_CERT_FILE: '/nonexistent/server.crt' })).toThrow(
      /LAPI_TLS_CERT_FILE: cannot read \/nonexistent\/server.crt/,
    );
    const other = pki.issue('mismatch', { cn: 'x' });
    expect(tlsOf({ ...server, LAPI_TLS_KEY_FILE: other.keyFile })).toThrow(ConfigError);
    expect(tlsOf({ ...server, LAPI_TLS_CRL_FILE: pki.caCertFile })).toThrow(/LAPI_TLS_CRL_FILE: cannot read a CRL/);
    expect(tlsOf({ ...server, LAPI_TLS_CRL_FILE: pki.crlFile })).not.toThrow();
  });
});
