import { existsSync, readFileSync } from 'node:fs';
import type { Sql } from 'postgres';
import { applyWal } from './sqlite-wal';

/** A row as the source's driver gives it: SQLite numbers and text, PostgreSQL typed values. */
export type Row = Record<string, unknown>;

/** Read-only access to a CrowdSec database (the same SQL runs on both: plain selects, quoted names). */
export interface SourceDb {
  readonly kind: 'sqlite' | 'postgres';
  tables(): Promise<Set<string>>;
  columns(table: string): Promise<Set<string>>;
  all(sql: string, params?: readonly (string | number)[]): Promise<Row[]>;
  close(): Promise<void>;
}

/**
 * A CrowdSec SQLite database, read into memory with sql.js (WASM, from the npm registry alone: no native build),
 * loaded only by this command. Its `-wal` file, when CrowdSec is running, is folded in; the files are only read.
 */
export async function openSqlite(path: string): Promise<SourceDb> {
  if (!existsSync(path)) {
    throw new Error(`${path}: no such SQLite database`);
  }
  // sql.js is CommonJS (module.exports = initSqlJs): the dynamic import gives it as `default`, or as itself.
  const mod = (await import('sql.js')) as unknown as SqlJsInit | { default: SqlJsInit };
  const init: SqlJsInit = 'default' in mod ? mod.default : mod;
  const SQL = await init();
  const wal = existsSync(`${path}-wal`) ? readFileSync(`${path}-wal`) : undefined;
  const bytes = applyWal(readFileSync(path), wal);
  let db: import('sql.js').Database;
  try {
    db = new SQL.Database(bytes);
    db.exec('select count(*) from sqlite_master');
  } catch (error) {
    throw new Error(
      `${path}: not a readable SQLite database (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  const all = (sql: string, params: readonly (string | number)[] = []): Promise<Row[]> => {
    const stmt = db.prepare(sql);
    try {
      stmt.bind([...params]);
      const rows: Row[] = [];
      while (stmt.step()) {
        rows.push(stmt.getAsObject());
      }
      return Promise.resolve(rows);
    } finally {
      stmt.free();
    }
  };
  return {
    kind: 'sqlite',
    tables: async () =>
      new Set((await all("select name from sqlite_master where type = 'table'")).map((r) => String(r.name))),
    columns: async (table) => new Set((await all(`pragma table_info("${table}")`)).map((r) => String(r.name))),
    all,
    close: () => {
      db.close();
      return Promise.resolve();
    },
  };
}

type SqlJsInit = () => Promise<import('sql.js').SqlJsStatic>;

/** A CrowdSec PostgreSQL database, through postgres.js (the server's own driver), in a read-only transaction. */
export async function openPostgres(options: string | PostgresOptions): Promise<SourceDb> {
  const { default: postgres } = await import('postgres');
  const settings = { max: 1, onnotice: () => undefined, connect_timeout: 10 };
  const sql: Sql = typeof options === 'string' ? postgres(options, settings) : postgres({ ...options, ...settings });
  try {
    await sql`select 1`;
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw new Error(
      `cannot reach the CrowdSec PostgreSQL database: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const all = async (text: string, params: readonly (string | number)[] = []): Promise<Row[]> => {
    // $1… placeholders; the SQL is ours (no input in it), the values are parameters.
    let n = 0;
    const rows = await sql.unsafe(
      text.replace(/\?/g, () => `$${++n}`),
      [...params],
    );
    return rows;
  };
  return {
    kind: 'postgres',
    tables: async () =>
      new Set(
        (await all('select table_name from information_schema.tables where table_schema = current_schema()')).map((r) =>
          String(r.table_name),
        ),
      ),
    columns: async (table) =>
      new Set(
        (
          await all(
            'select column_name from information_schema.columns where table_schema = current_schema() and table_name = ?',
            [table],
          )
        ).map((r) => String(r.column_name)),
      ),
    all,
    close: () => sql.end({ timeout: 5 }),
  };
}

export interface PostgresOptions {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  ssl?: 'require' | 'prefer' | 'allow' | 'verify-full' | boolean;
}
