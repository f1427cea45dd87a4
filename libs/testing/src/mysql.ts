// A scratch MySQL/MariaDB database for the tests that need one (a CrowdSec 1.4.6 writing to MySQL), on the
// server TEST_MYSQL_URL names (default: MariaDB on 127.0.0.1:3306 as root without password).
import { randomBytes } from 'node:crypto';

export const TEST_MYSQL_URL = process.env.TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/';

export const MYSQL_MISSING_MESSAGE =
  `no MySQL/MariaDB server answers at ${TEST_MYSQL_URL} (TEST_MYSQL_URL), so this test cannot run.\n` +
  'Install and start one (Debian: apt-get install mariadb-server; service mariadb start) with a user allowed to ' +
  'create databases over TCP, or set TEST_MYSQL_URL=mysql://user:password@host:3306/ to one.';

/** A fresh, empty database (utf8mb4) on the test MySQL server; dropped by the returned function. */
export async function createScratchMysqlDatabase(
  prefix = 'lapi_test',
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  if (!name.includes('test')) {
    throw new Error(`refusing to use database ${name}: its name must contain "test"`);
  }
  const run = async (sql: string) => {
    const { createConnection } = await import('mysql2/promise');
    let conn: import('mysql2/promise').Connection;
    try {
      conn = await createConnection({ uri: TEST_MYSQL_URL, connectTimeout: 5_000 });
    } catch (error) {
      throw new Error(`${MYSQL_MISSING_MESSAGE}\n(${error instanceof Error ? error.message : String(error)})`);
    }
    try {
      await conn.query(sql);
    } finally {
      await conn.end();
    }
  };
  await run(`create database \`${name}\` character set utf8mb4`);
  const url = new URL(TEST_MYSQL_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`drop database if exists \`${name}\``) };
}
