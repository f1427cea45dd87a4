import type { DatabaseConfig } from '@lapi/config';
import { Kysely, Migrator, sql } from 'kysely';
import { execFile } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { embeddedDatabasePath } from './data-dir-lock';
import type { DB } from './db';
import { latestMigration, migrationProvider } from './migrations';
import { PGliteDialect } from './pglite-dialect';
import { PGliteThread } from './pglite-thread';
import { PostgresJSPoolDialect } from './postgres-js-dialect';
import { makeDataDirPrivate } from './private-data-dir';

export type Database = Kysely<DB>;

export interface DatabaseHandle {
  readonly db: Database;
  readonly kind: DatabaseConfig['kind'];
  /** True when several transactions can be open at once (a Postgres server; PGlite is one connection). */
  readonly concurrent: boolean;
  /** The connection URL, for a Postgres server. */
  readonly url?: string;
  close(): Promise<void>;
}

const CLOSE_TIMEOUT_S = 5;

export async function openDatabase(
  config: DatabaseConfig,
  options: { maxConnections?: number } = {},
): Promise<DatabaseHandle> {
  if (config.kind === 'postgres') {
    const sql = postgres(config.url, {
      max: options.maxConnections ?? 10,
      onnotice: () => undefined,
      // int8 as string keeps positions exact beyond 2^53; adapters turn them into bigint.
      types: {},
    });
    const db = new Kysely<DB>({ dialect: new PostgresJSPoolDialect(sql) });
    const close = async () => {
      // A query stuck on a connection the server ended (PostgreSQL restarted) would hold end() forever: give the
      // queries in flight a few seconds, then drop the connections.
      await sql.end({ timeout: CLOSE_TIMEOUT_S });
      await db.destroy();
    };
    return { db, kind: 'postgres', concurrent: true, url: config.url, close };
  }
  // ':memory:' keeps PGlite in memory (tests); anything else is a directory.
  const pglite =
    config.dataDir === ':memory:' ? await openPGlite(undefined, { fsync: false }) : await openPrivateFiles(config);
  const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
  return { db, kind: 'embedded', concurrent: false, close: () => db.destroy() };
}

async function openPGlite(path: string | undefined, options: { fsync: boolean }): Promise<PGliteThread> {
  if (path !== undefined && !existsSync(join(path, 'PG_VERSION'))) {
    await createInChildProcess(path, options);
  }
  const pglite = new PGliteThread(path, options);
  await pglite.waitReady;
  return pglite;
}

/**
 * Creates a new PGlite database (initdb) in a process of its own. initdb leaves ~450 MB in the memory of the thread
 * that ran it, which PGlite never gives back, and ~100 MB stay with the process even once that thread has ended: a
 * child process returns it all. With `fsync`, its files are then flushed to disk as a commit would be.
 */
async function createInChildProcess(path: string, options: { fsync: boolean }): Promise<void> {
  const pglite = JSON.stringify(require.resolve('@electric-sql/pglite'));
  const script = `require(${pglite}).PGlite.create(${JSON.stringify(path)}).then((pg) => pg.close()).catch((e) => {
    process.stderr.write(String(e && e.message ? e.message : e));
    process.exitCode = 1;
  });`;
  try {
    await promisify(execFile)(process.execPath, ['-e', script], { env: {}, maxBuffer: 1024 * 1024 });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`cannot create the database in ${path}: ${stderr || (error as Error).message}`);
  }
  if (options.fsync) {
    fsyncTree(path);
  }
}

function fsyncTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const child = join(dir, entry.name);
    if (entry.isDirectory()) {
      fsyncTree(child);
    } else if (entry.isFile()) {
      fsyncPath(child);
    }
  }
  fsyncPath(dir);
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function openPrivateFiles(config: Extract<DatabaseConfig, { kind: 'embedded' }>): Promise<PGliteThread> {
  makeDataDirPrivate(config.dataDir);
  const path = embeddedDatabasePath(config.dataDir);
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const pglite = await openPGlite(path, { fsync: config.fsync ?? true });
  try {
    makeDataDirPrivate(config.dataDir); // the files PGlite wrote for a new database
  } catch (error) {
    await pglite.close();
    throw error;
  }
  return pglite;
}

const LOST_CONNECTION_CODES = new Set([
  // postgres.js: the socket closed, was ended or never opened.
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  // PostgreSQL: the server ended the session (pg_terminate_backend, shutdown, failover) or is starting up.
  '57P01',
  '57P02',
  '57P03',
]);

/**
 * True when a database call failed because the connection to PostgreSQL was lost, not because of the query:
 * its transaction is not known to have committed, and the same call may succeed on a new connection.
 */
export function isLostDatabaseConnection(error: unknown): boolean {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  // SQLSTATE class 08: connection exceptions.
  return typeof code === 'string' && (LOST_CONNECTION_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code));
}

/** Brings the schema up to date; safe to run from several replicas at once (Kysely takes a lock). */
export async function migrateToLatest(db: Kysely<DB>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    throw error instanceof Error ? error : new Error(`migration failed: ${JSON.stringify(error)}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Migrates only a database that is behind: when it is current this is one read of the last migration applied,
 * not the migrator's lock and table checks (what a short-lived process such as `lapi bouncers add` pays).
 */
export async function migrateIfBehind(db: Kysely<DB>): Promise<string[]> {
  try {
    const { rows } = await sql<{ name: string }>`select max(name) as name from kysely_migration`.execute(db);
    if (rows[0]?.name === latestMigration) {
      return [];
    }
  } catch {
    // No migration table yet: a new database, migrated below.
  }
  return migrateToLatest(db);
}
