import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { PostgresOptions } from './source-db';

/** Where a CrowdSec keeps its data, from its config.yaml's `db_config`. */
export type CrowdsecSource =
  { kind: 'sqlite'; path: string } | { kind: 'postgres'; options: string | PostgresOptions; describe: string };

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
    case 'mysql':
      throw new Error(
        `${path}: MySQL sources are not supported (no MySQL client is bundled). Copy the database to PostgreSQL or ` +
          'SQLite first, or import machines and bouncers by hand (lapi machines add / bouncers add -k).',
      );
    default:
      throw new Error(`${path}: unknown db_config.type '${type}' (expected sqlite or postgresql)`);
  }
}

/** A YAML scalar as text ('' for a mapping or a list, which no db_config field is). */
const scalar = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
