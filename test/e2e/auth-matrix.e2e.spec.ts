// The auth matrix's 1.4.6 answers (libs/testing/src/auth-matrix.ts), checked against the real thing: Debian's
// crowdsec 1.4.6 run as a Local API only, over HTTPS so that client certificates can be presented. Our answers are
// checked in-process by apps/api/src/http/auth-matrix.int.spec.ts.
import {
  AUTH_MATRIX,
  checkAnswer,
  createTestPki,
  CREDENTIALS,
  matrixRequest,
  referenceExpectation,
  sendOverHttps,
  type Credential,
  type IssuedCertificate,
  type MatrixCredentials,
  type MatrixRow,
  type TestPki,
} from '@lapi/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSCLI_MISSING_MESSAGE, cscliAvailable } from './cscli';
import { startReferenceLapi, type ReferenceLapi } from './reference';
import { randomSecret } from './server';
import { suffix } from './targets';

describe('auth matrix: crowdsec 1.4.6 answers what the matrix says', () => {
  let tmp: string;
  let pki: TestPki;
  let ref: ReferenceLapi;
  let creds: MatrixCredentials;
  const certs = {} as Record<'agent' | 'bouncer', IssuedCertificate>;
  const post = (path: string, body: unknown) =>
    sendOverHttps(
      ref.port,
      {
        method: 'POST',
        path,
        headers: { 'user-agent': 'crowdsec/v1.4.6-authmatrix', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      pki.caCertFile,
    );

  beforeAll(async () => {
    if (!cscliAvailable()) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    tmp = mkdtempSync(join(tmpdir(), 'lapi-authmatrix-'));
    pki = createTestPki();
    certs.agent = pki.issue('agent', { cn: 'matrix-tls-agent', ou: 'agent-ou' });
    certs.bouncer = pki.issue('bouncer', { cn: 'matrix-tls-bouncer', ou: 'bouncer-ou' });
    const jwtSecret = randomSecret();
    ref = await startReferenceLapi({
      dir: join(tmp, 'reference'),
      env: { CS_LAPI_SECRET: jwtSecret },
      tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caCertFile: pki.caCertFile },
    });
    const ids = {
      machineId: 'matrix-agent',
      password: 'matrix-agent-password',
      unvalidatedId: 'matrix-unvalidated',
      unvalidatedPassword: 'matrix-unvalidated-password',
      runId: suffix(),
    };
    const added = await ref.cscli([
      'machines',
      'add',
      ids.machineId,
      '--password',
      ids.password,
      '-f',
      join(tmp, 'm.yaml'),
    ]);
    expect(added.code).toBe(0);
    const registered = await post('/v1/watchers', { machine_id: ids.unvalidatedId, password: ids.unvalidatedPassword });
    expect(registered.status).toBe(201);
    const bouncer = await ref.cscli(['bouncers', 'add', 'matrix-bouncer', '-o', 'raw']);
    expect(bouncer.code).toBe(0);
    const login = await post('/v1/watchers/login', { machine_id: ids.machineId, password: ids.password });
    expect(login.status).toBe(200);
    const machineToken = (JSON.parse(login.text) as { token: string }).token;
    creds = { ...ids, bouncerKey: bouncer.stdout.trim(), jwtSecret, machineToken };
  });

  afterAll(async () => {
    await ref?.stop();
    pki?.dispose();
    if (tmp) {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  const cells: [string, MatrixRow, Credential][] = AUTH_MATRIX.flatMap((row) =>
    CREDENTIALS.map((c): [string, MatrixRow, Credential] => [`${row.method} ${row.path} with ${c}`, row, c]),
  );

  it.each(cells)('%s', async (_name, row, credential) => {
    const req = matrixRequest(row, credential, creds);
    const res = await sendOverHttps(ref.port, req, pki.caCertFile, req.cert ? certs[req.cert] : undefined);
    expect(checkAnswer(referenceExpectation(row, credential), res, creds)).toEqual([]);
  });
});
