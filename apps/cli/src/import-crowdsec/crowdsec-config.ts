import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { MysqlOptions, PostgresOptions } from './source-db';

/** Where a CrowdSec keeps its data, from its config.yaml's `db_config`. */
export type CrowdsecSource =
  | { kind: 'sqlite'; path: string }
  | { kind: 'postgres'; options: string | PostgresOptions; describe: string }
  | { kind: 'mysql'; options: MysqlOptions; describe: string };

/**
 * Reads `db_config` of a CrowdSec config.yaml. `${VAR}`/`$VAR` are replaced from the environment first, as CrowdSec
 * does with the whole file (csconfig: os.ExpandEnv; 1.4 replaces an unset variable by nothing).
 */
export function sourceFromConfig(path: string, env: Readonly<Record<string, string | undefined>>): CrowdsecSource {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const expanded = text.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (_m, a: string | undefined, b: string | undefined) => env[(a ?? b)!] ?? '',
  );
  let config: unknown;
  try {
    config = parse(expanded);
  } catch (error) {
    throw new Error(`${path}: not valid YAML (${error instanceof Error ? error.message : String(error)})`);
  }
  const db = (config as { db_config?: Record<string, unknown> } | null)?.db_config;
  if (!db || typeof db !== 'object') {
    throw new Error(`${path}: no db_config section`);
  }
  const type = scalar(db.type).toLowerCase();
  const str = (key: string) => (db[key] === undefined || db[key] === null ? undefined : scalar(db[key]));
  switch (type) {
    case 'sqlite': {
      const dbPath = str('db_path');
      if (!dbPath) {
        throw new Error(`${path}: db_config.type is sqlite but db_path is not set`);
      }
      return { kind: 'sqlite', path: dbPath };
    }
    case 'postgres':
    case 'postgresql':
    case 'pgx': {
      const sslmode = str('sslmode');
      const options: PostgresOptions = {
        host: str('host') ?? '127.0.0.1',
        port: db.port === undefined ? 5432 : Number(db.port),
        user: str('user'),
        password: str('password'),
        database: str('db_name'),
        ssl: sslmode === undefined || sslmode === 'disable' ? false : (sslmode as PostgresOptions['ssl']),
      };
      return {
        kind: 'postgres',
        options,
        describe: `postgres://${options.user ?? ''}@${options.host}:${options.port}/${options.database ?? ''}`,
      };
    }
    case 'mysql': {
      // 1.4 connects to user:password@tcp(host:port)/db_name?parseTime=True; from 1.5 `db_path` names the server's
      // socket when host and port are unset, and sslmode (go-sql-driver's `tls`) and ssl_* files may be set.
      const port = db.port === undefined || db.port === null ? undefined : Number(db.port);
      if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535)) {
        throw new Error(`${path}: db_config.port '${scalar(db.port)}' is not a port number`);
      }
      const socketPath = !str('host') && !port ? str('db_path') : undefined;
      const options: MysqlOptions = {
        ...(socketPath ? { socketPath } : { host: str('host') || '127.0.0.1', port: port || 3306 }),
        user: str('user'),
        password: str('password'),
        database: str('db_name'),
        sslmode: str('sslmode') || undefined,
        sslCaCert: str('ssl_ca_cert') || undefined,
        sslClientCert: str('ssl_client_cert') || undefined,
        sslClientKey: str('ssl_client_key') || undefined,
      };
      return { kind: 'mysql', options, describe: describeMysql(options) };
    }
    default:
      throw new Error(`${path}: unknown db_config.type '${type}' (expected sqlite, postgresql or mysql)`);
  }
}

/** A YAML scalar as text ('' for a mapping or a list, which no db_config field is). */
const scalar = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

/** `mysql://user@host:port/db` (or `…@unix(/socket)/db`), without the password, for messages. */
export function describeMysql(o: MysqlOptions): string {
  const where = o.socketPath ? `unix(${o.socketPath})` : `${o.host ?? '127.0.0.1'}:${o.port ?? 3306}`;
  return `mysql://${o.user ?? ''}@${where}/${o.database ?? ''}`;
}

const MYSQL_URL_PARAMS = ['socket', 'sslmode'];

/**
 * `--mysql mysql://user:pass@host:3306/db` as options; `?socket=/run/mysqld/mysqld.sock` connects through a socket,
 * `?sslmode=` takes the values of db_config.sslmode.
 */
export function mysqlOptionsFromUrl(text: string): MysqlOptions {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    url = new URL('invalid:');
  }
  if (url.protocol !== 'mysql:' && url.protocol !== 'mariadb:') {
    throw new Error(`--mysql expects a URL like mysql://user:password@127.0.0.1:3306/crowdsec, not '${text}'`);
  }
  const unknown = [...url.searchParams.keys()].filter((k) => !MYSQL_URL_PARAMS.includes(k));
  if (unknown.length > 0) {
    throw new Error(`--mysql: unknown URL parameter(s) ${unknown.join(', ')} (known: ${MYSQL_URL_PARAMS.join(', ')})`);
  }
  const decode = (v: string) => {
    try {
      return v === '' ? undefined : decodeURIComponent(v);
    } catch {
      throw new Error(`--mysql: '${v}' in the URL is not valid percent-encoding`);
    }
  };
  const socketPath = url.searchParams.get('socket') || undefined;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return {
    ...(socketPath ? { socketPath } : { host: host || '127.0.0.1', port: url.port ? Number(url.port) : 3306 }),
    user: decode(url.username),
    password: decode(url.password),
    database: decode(url.pathname.slice(1)),
    sslmode: url.searchParams.get('sslmode') || undefined,
  };
}
