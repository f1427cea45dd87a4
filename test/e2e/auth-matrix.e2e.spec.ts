// The auth matrix's 1.4.6 column (libs/testing/src/auth-matrix.ts), checked against the real thing: Debian's
// crowdsec 1.4.6 run as a Local API only. Our column is checked in-process by apps/api/src/http/auth-matrix.int.spec.ts.
import {
  AUTH_MATRIX,
  checkAnswer,
  CREDENTIALS,
  matrixRequest,
  referenceExpectation,
  type Credential,
  type MatrixCredentials,
  type MatrixRow,
} from '@lapi/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CSCLI_MISSING_MESSAGE, cscliAvailable } from './cscli';
import { startReferenceLapi, type ReferenceLapi } from './reference';
import { randomSecret } from './server';
import { http, suffix } from './targets';

describe('auth matrix: crowdsec 1.4.6 answers what the matrix says', () => {
  let tmp: string;
  let ref: ReferenceLapi;
  let creds: MatrixCredentials;

  beforeAll(async () => {
    if (!cscliAvailable()) {
      throw new Error(CSCLI_MISSING_MESSAGE);
    }
    tmp = mkdtempSync(join(tmpdir(), 'lapi-authmatrix-'));
    const jwtSecret = randomSecret();
    ref = await startReferenceLapi({ dir: join(tmp, 'reference'), env: { CS_LAPI_SECRET: jwtSecret } });
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
    const registered = await http(`${ref.url}/v1/watchers`, {
      method: 'POST',
      body: JSON.stringify({ machine_id: ids.unvalidatedId, password: ids.unvalidatedPassword }),
    });
    expect(registered.status).toBe(201);
    const bouncer = await ref.cscli(['bouncers', 'add', 'matrix-bouncer', '-o', 'raw']);
    expect(bouncer.code).toBe(0);
    const login = await http(`${ref.url}/v1/watchers/login`, {
      method: 'POST',
      headers: { 'user-agent': 'crowdsec/v1.4.6-authmatrix' },
      body: JSON.stringify({ machine_id: ids.machineId, password: ids.password }),
    });
    expect(login.status).toBe(200);
    const machineToken = (login.json as { token: string }).token;
    creds = { ...ids, bouncerKey: bouncer.stdout.trim(), jwtSecret, machineToken };
  });

  afterAll(async () => {
    await ref?.stop();
    if (tmp) {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  const cells: [string, MatrixRow, Credential][] = AUTH_MATRIX.flatMap((row) =>
    CREDENTIALS.map((c): [string, MatrixRow, Credential] => [`${row.method} ${row.path} with ${c}`, row, c]),
  );

  it.each(cells)('%s', async (_name, row, credential) => {
    const req = matrixRequest(row, credential, creds);
    const res = await fetch(`${ref.url}${req.path}`, { method: req.method, headers: req.headers, body: req.body });
    const text = await res.text();
    const headers = Object.fromEntries(res.headers.entries());
    expect(checkAnswer(referenceExpectation(row, credential), { status: res.status, headers, text }, creds)).toEqual(
      [],
    );
  });
});
