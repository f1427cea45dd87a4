import { createScratchDatabase } from '@lapi/testing';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

// The driver bug this guards against (postgres.js 3.4.9, patched by scripts/patch-postgres.js) kills the process
// from a setImmediate callback, so each scenario runs in a child process and the test reads its exit.
const REPO_ROOT = resolve(__dirname, '..', '..', '..');

function runChild(script: string, url: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', script, url], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Runs `scenario(sql, killOwnBackend)` with a pool of 2, then 20 queries that must all succeed (the pool is not
// left holding the dead connection), then prints "survived".
const harness = (scenario: string) => `
const postgres = require('postgres');
const { Kysely, sql: raw } = require('kysely');
const { PostgresJSDialect } = require('kysely-postgres-js');
const url = process.argv[1];
const sql = postgres(url, { max: 2, onnotice: () => {} });
const killer = postgres(url, { max: 1, onnotice: () => {} });
const kill = (pid) => killer\`select pg_terminate_backend(\${pid})\`;
const waitFor = async (get) => { while (get() === null) await new Promise((r) => setTimeout(r, 10)); return get(); };
(async () => {
  const outcome = await (${scenario})().then(() => 'resolved', (e) => e.code || e.message);
  console.log('outcome', outcome);
  await new Promise((r) => setTimeout(r, 100));
  const rows = await Promise.all(Array.from({ length: 20 }, (_, i) => sql\`select \${i}::int as i\`));
  if (rows.map(([r]) => r.i).join() !== Array.from({ length: 20 }, (_, i) => i).join()) throw new Error('bad rows');
  console.log('survived');
  process.exit(0);
})().catch((e) => { console.error('failed', e); process.exit(2); });
`;

describe('the PostgreSQL driver when the server ends a connection in use (pg_terminate_backend)', () => {
  let url: string;
  let drop: () => Promise<void>;
  beforeAll(async () => {
    ({ url, drop } = await createScratchDatabase('lapi_test_driver'));
  });
  afterAll(() => drop());

  it('rejects a transaction whose connection died, without crashing on its ROLLBACK (sql.begin)', () => {
    const r = runChild(
      harness(`async () => {
        let pid = null;
        const tx = sql.begin(async (t) => {
          pid = (await t\`select pg_backend_pid() as pid\`)[0].pid;
          await t\`select pg_sleep(5)\`;
        });
        await kill(await waitFor(() => pid));
        return tx;
      }`),
      url,
    );
    expect(r.stderr).not.toContain("Cannot read properties of null (reading 'write')");
    expect(r.stdout).toContain('outcome CONNECTION_CLOSED');
    expect(r.stdout).toContain('survived');
    expect(r.status).toBe(0);
  });

  it('survives a Kysely transaction on a reserved connection that died, and reuses the pool (kysely-postgres-js)', () => {
    const r = runChild(
      harness(`async () => {
        const db = new Kysely({ dialect: new PostgresJSDialect({ postgres: sql }) });
        let pid = null;
        const tx = db.transaction().execute(async (trx) => {
          pid = (await raw\`select pg_backend_pid() as pid\`.execute(trx)).rows[0].pid;
          await raw\`select pg_sleep(5)\`.execute(trx);
        });
        await kill(await waitFor(() => pid));
        await tx;
      }`),
      url,
    );
    expect(r.stderr).not.toContain("Cannot read properties of null (reading 'write')");
    // The error itself is Kysely's (see LostConnectionAwareDriver in database.ts): this is about the process.
    expect(r.stdout).toMatch(/outcome /);
    expect(r.stdout).toContain('survived');
    expect(r.status).toBe(0);
  });
});
