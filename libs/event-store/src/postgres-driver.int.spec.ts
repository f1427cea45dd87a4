import { createScratchDatabase } from '@lapi/testing';
import { Kysely, sql } from 'kysely';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import postgres from 'postgres';
import { isLostDatabaseConnection } from './database';
import { PostgresJSPoolDialect } from './postgres-js-dialect';

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

  it('rejects a Kysely transaction whose connection died as a lost connection, and the pool serves on', async () => {
    const pool = postgres(url, { max: 2, onnotice: () => undefined, types: {} });
    const killer = postgres(url, { max: 1, onnotice: () => undefined });
    const db = new Kysely<unknown>({ dialect: new PostgresJSPoolDialect(pool) });
    try {
      let pid: number | undefined;
      const tx = db.transaction().execute(async (trx) => {
        pid = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0].pid;
        await sql`select pg_sleep(5)`.execute(trx);
      });
      const failed = tx.then(
        () => 'committed',
        (error: unknown) => error,
      );
      while (pid === undefined) {
        await new Promise((r) => setTimeout(r, 10));
      }
      await killer`select pg_terminate_backend(${pid})`;
      const error = await failed;
      expect(isLostDatabaseConnection(error)).toBe(true);
      const rows = await Promise.all(
        Array.from({ length: 20 }, (_, i) => sql<{ i: number }>`select ${i}::int as i`.execute(db)),
      );
      expect(rows.map((r) => r.rows[0].i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    } finally {
      await pool.end();
      await killer.end();
    }
  });

  it('maps results as Kysely expects: rows, affected rows of writes, int8 as text', async () => {
    const pool = postgres(url, { max: 2, onnotice: () => undefined, types: {} });
    const db = new Kysely<unknown>({ dialect: new PostgresJSPoolDialect(pool) });
    try {
      await sql`create table if not exists driver_map (n int8)`.execute(db);
      const inserted = await sql`insert into driver_map values (9007199254740993), (2)`.execute(db);
      expect(inserted.numAffectedRows).toBe(2n);
      const updated = await db.transaction().execute((trx) => sql`update driver_map set n = n + 1`.execute(trx));
      expect(updated.numAffectedRows).toBe(2n);
      const { rows } = await sql<{ n: string }>`select n from driver_map order by n`.execute(db);
      expect(rows).toEqual([{ n: '3' }, { n: '9007199254740994' }]);
      const selected = await sql`select 1`.execute(db);
      expect(selected.numAffectedRows).toBeUndefined();
      // A rolled-back transaction leaves nothing.
      await expect(
        db.transaction().execute(async (trx) => {
          await sql`delete from driver_map`.execute(trx);
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect((await sql`select n from driver_map`.execute(db)).rows).toHaveLength(2);
    } finally {
      await pool.end();
    }
  });
});
