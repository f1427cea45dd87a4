import {
  AUTH_MATRIX,
  checkAnswer,
  createTestPki,
  CREDENTIALS,
  matrixRequest,
  sendOverHttps,
  TEST_JWT_SECRET,
  type Credential,
  type IssuedCertificate,
  type MatrixCredentials,
  type MatrixResponse,
  type MatrixRow,
  type TestPki,
} from '@lapi/testing';
import type { AddressInfo } from 'node:net';
import { AGENT_UA, startTestApi, type TestApi } from '../../test/api-harness';

// Our column of the auth matrix (libs/testing/src/auth-matrix.ts), over PostgreSQL: one app with TLS on (client
// certificates verified if given), driven in-process except for the certificate columns, which go over HTTPS.
// Authentication does not depend on the storage backend, so one backend is enough here.

describe('auth matrix: every route × every credential', () => {
  let t: TestApi;
  let creds: MatrixCredentials;
  let pki: TestPki;
  let port: number;
  const certs = {} as Record<'agent' | 'bouncer', IssuedCertificate>;

  beforeAll(async () => {
    pki = createTestPki();
    certs.agent = pki.issue('agent', { cn: 'matrix-tls-agent', ou: 'agent-ou' });
    certs.bouncer = pki.issue('bouncer', { cn: 'matrix-tls-bouncer', ou: 'bouncer-ou' });
    t = await startTestApi('postgres', {
      LAPI_TLS_CERT_FILE: pki.server.certFile,
      LAPI_TLS_KEY_FILE: pki.server.keyFile,
      LAPI_TLS_CA_CERT_FILE: pki.caCertFile,
    });
    await t.api.app.listen(0, '127.0.0.1');
    port = (t.api.app.getHttpServer().address() as AddressInfo).port;
    const runId = Date.now().toString(36);
    const ids = {
      machineId: 'matrix-agent',
      password: 'matrix-agent-password',
      unvalidatedId: 'matrix-unvalidated',
      unvalidatedPassword: 'matrix-unvalidated-password',
      runId,
    };
    await t.admin({ op: 'machines.add', name: ids.machineId, password: ids.password });
    const registered = await t.inject({
      method: 'POST',
      url: '/v1/watchers',
      payload: { machine_id: ids.unvalidatedId, password: ids.unvalidatedPassword },
    });
    expect(registered.statusCode).toBe(201);
    const { key } = (await t.admin({ op: 'bouncers.add', name: 'matrix-bouncer' })) as { key: string };
    const login = await t.inject({
      method: 'POST',
      url: '/v1/watchers/login',
      payload: { machine_id: ids.machineId, password: ids.password },
      headers: { 'user-agent': AGENT_UA },
    });
    expect(login.statusCode).toBe(200);
    creds = {
      ...ids,
      bouncerKey: key,
      jwtSecret: TEST_JWT_SECRET,
      machineToken: login.json<{ token: string }>().token,
    };
  });

  afterAll(async () => {
    await t?.close();
    pki?.dispose();
  });

  it('covers every route the server registers', () => {
    const covered = new Set(AUTH_MATRIX.map((r) => `${r.method} ${r.route}`));
    const missing = t.api.routes
      .list()
      .map((r) => `${r.method} ${r.url}`)
      .filter((r) => !covered.has(r));
    expect(missing).toEqual([]);
  });

  // Rows in order (DELETE /v1/watchers/self last), each cell a test.
  const cells: [string, MatrixRow, Credential][] = AUTH_MATRIX.flatMap((row) =>
    CREDENTIALS.map((c): [string, MatrixRow, Credential] => [`${row.method} ${row.path} with ${c}`, row, c]),
  );

  it.each(cells)('%s', async (_name, row, credential) => {
    const req = matrixRequest(row, credential, creds);
    let res: MatrixResponse;
    if (req.cert) {
      res = await sendOverHttps(port, req, pki.caCertFile, certs[req.cert]);
    } else {
      const r = await t.inject({ method: req.method, url: req.path, headers: req.headers, payload: req.body });
      res = { status: r.statusCode, headers: r.headers, text: r.body };
    }
    expect(checkAnswer(row.expect[credential], res, creds)).toEqual([]);
  });
});
