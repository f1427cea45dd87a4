import { existsSync, readFileSync } from 'node:fs';
import type { Sql } from 'postgres';
import { applyWal } from './sqlite-wal';

/** A row as the source's driver gives it: SQLite numbers and text, PostgreSQL typed values, MySQL times as text. */
export type Row = Record<string, unknown>;

/** Read-only access to a CrowdSec database (the same SQL runs on all three: plain selects, quoted names). */
export interface SourceDb {
  readonly kind: 'sqlite' | 'postgres' | 'mysql';
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

/**
 * A CrowdSec MySQL/MariaDB database, through mysql2 (loaded only by this command), in one read-only transaction
 * with a consistent snapshot. The session keeps the server's time zone, as CrowdSec's does: Go's driver writes its
 * times as UTC wall clock (parseTime without loc), so each `timestamp`/`datetime` reads back as that text, taken as
 * UTC. ANSI_QUOTES lets the shared SQL quote names with double quotes.
 */
export async function openMysql(options: MysqlOptions): Promise<SourceDb> {
  const { createConnection } = await import('mysql2/promise');
  const ssl = mysqlTls(options);
  const connect = (withTls: typeof ssl) =>
    createConnection({
      ...(options.socketPath ? { socketPath: options.socketPath } : { host: options.host, port: options.port }),
      user: options.user,
      password: options.password,
      database: options.database,
      ...(withTls && { ssl: withTls.ssl }),
      dateStrings: true,
      connectTimeout: 10_000,
    });
  let conn: import('mysql2/promise').Connection;
  try {
    try {
      conn = await connect(ssl);
    } catch (error) {
      // go-sql-driver's tls=preferred: TLS when the server offers it, else plain.
      if (ssl?.preferred && (error as { code?: string }).code === 'HANDSHAKE_NO_SSL_SUPPORT') {
        conn = await connect(undefined);
      } else {
        throw error;
      }
    }
    await conn.query("set session sql_mode = concat_ws(',', nullif(@@session.sql_mode, ''), 'ANSI_QUOTES')");
    await conn.query('start transaction with consistent snapshot, read only');
  } catch (error) {
    throw new Error(`cannot reach the CrowdSec MySQL database: ${errorText(error)}`);
  }
  const all = async (text: string, params: readonly (string | number)[] = []): Promise<Row[]> => {
    const [rows] = await conn.query(text, [...params]);
    return rows as Row[];
  };
  return {
    kind: 'mysql',
    tables: async () =>
      new Set(
        (await all('select table_name as name from information_schema.tables where table_schema = database()')).map(
          (r) => String(r.name),
        ),
      ),
    columns: async (table) =>
      new Set(
        (
          await all(
            'select column_name as name from information_schema.columns where table_schema = database() ' +
              'and table_name = ?',
            [table],
          )
        ).map((r) => String(r.name)),
      ),
    all,
    close: async () => {
      await conn.query('rollback').catch(() => undefined);
      await conn.end();
    },
  };
}

export interface MysqlOptions {
  host?: string;
  port?: number;
  /** The server's Unix socket instead of host and port. */
  socketPath?: string;
  user?: string;
  password?: string;
  database?: string;
  /** go-sql-driver's `tls` values, as db_config.sslmode gives them: true, false, skip-verify, preferred. */
  sslmode?: string;
  sslCaCert?: string;
  sslClientCert?: string;
  sslClientKey?: string;
}

const GO_TRUE = ['1', 't', 'T', 'true', 'TRUE', 'True'];
const GO_FALSE = ['0', 'f', 'F', 'false', 'FALSE', 'False'];

/** The TLS settings CrowdSec's MySQL DSN asks for; a CA or client certificate makes it a verified TLS ("custom"). */
function mysqlTls(o: MysqlOptions): { ssl: import('mysql2').SslOptions; preferred: boolean } | undefined {
  const file = (what: string, path: string | undefined) => {
    if (path === undefined) {
      return undefined;
    }
    try {
      return readFileSync(path);
    } catch (error) {
      throw new Error(`cannot read the MySQL ${what} ${path}: ${errorText(error)}`);
    }
  };
  const ca = file('CA certificate (ssl_ca_cert)', o.sslCaCert);
  const withClient = o.sslClientCert !== undefined && o.sslClientKey !== undefined;
  const cert = withClient ? file('client certificate (ssl_client_cert)', o.sslClientCert) : undefined;
  const key = withClient ? file('client key (ssl_client_key)', o.sslClientKey) : undefined;
  if (ca || cert) {
    return { ssl: { rejectUnauthorized: true, ...(ca && { ca }), ...(cert && { cert, key }) }, preferred: false };
  }
  const mode = o.sslmode;
  if (mode === undefined || GO_FALSE.includes(mode)) {
    return undefined;
  }
  if (GO_TRUE.includes(mode)) {
    return { ssl: { rejectUnauthorized: true }, preferred: false };
  }
  if (mode === 'skip-verify' || mode === 'preferred') {
    return { ssl: { rejectUnauthorized: false }, preferred: mode === 'preferred' };
  }
  throw new Error(`MySQL sslmode '${mode}' is not one of true, false, skip-verify, preferred`);
}

/** An error's message, else its code, else the messages it aggregates (duck-typed: errors may come from another realm). */
function errorText(error: unknown): string {
  if (typeof error !== 'object' || error === null) {
    return String(error);
  }
  const e = error as { message?: unknown; code?: unknown; errors?: unknown };
  if (typeof e.message === 'string' && e.message !== '') {
    return e.message;
  }
  if (Array.isArray(e.errors) && e.errors.length > 0) {
    return e.errors.map(errorText).join('; ');
  }
  return typeof e.code === 'string' ? e.code : JSON.stringify(error);
}
