import {
  AUTH_MATRIX,
  checkAnswer,
  CREDENTIALS,
  matrixRequest,
  TEST_JWT_SECRET,
  type Credential,
  type MatrixCredentials,
  type MatrixRow,
} from '@lapi/testing';
import { AGENT_UA, startTestApi, type TestApi } from '../../test/api-harness';

// Our column of the auth matrix (libs/testing/src/auth-matrix.ts), in-process over PostgreSQL. Authentication
// does not depend on the storage backend, so one backend is enough here.

describe('auth matrix: every route × every credential', () => {
  let t: TestApi;
  let creds: MatrixCredentials;

  beforeAll(async () => {
    t = await startTestApi('postgres');
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
    const res = await t.inject({ method: req.method, url: req.path, headers: req.headers, payload: req.body });
    const problems = checkAnswer(
      row.expect[credential],
      { status: res.statusCode, headers: res.headers, text: res.body },
      creds,
    );
    expect(problems).toEqual([]);
  });
});
