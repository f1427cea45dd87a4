import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * PGlite is one process's database: a second process opening the same files would corrupt them.
 * Whoever opens the embedded database (the server or the CLI) holds this lock file while it does.
 */
export class DataDirLockedError extends Error {
  constructor(
    readonly pid: number,
    dataDir: string,
  ) {
    super(`the data directory ${dataDir} is in use by process ${pid}`);
    this.name = 'DataDirLockedError';
  }
}

export function acquireDataDirLock(dataDir: string): { release(): void } {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 }); // made private, the files in it too, when the database opens
  const file = join(dir, 'lapi.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return {
        release: () => {
          try {
            unlinkSync(file);
          } catch {
            // already gone
          }
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw error;
      }
      const pid = Number(readFileSync(file, 'utf8').trim());
      if (pid && pid !== process.pid && isAlive(pid)) {
        throw new DataDirLockedError(pid, dir);
      }
      // Left by a process that died: take it over.
      unlinkSync(file);
    }
  }
  throw new Error(`could not lock ${dir}`);
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * The unix socket a running embedded server takes admin commands on, in a directory of its own that the server
 * makes 0700 before it listens: a socket gets its mode only after it exists, so the directory is what guards it.
 */
export const adminSocketPath = (dataDir: string): string => join(resolve(dataDir), 'admin', 'admin.sock');

/** The PGlite files live in this folder of the data directory. */
export const embeddedDatabasePath = (dataDir: string): string => join(resolve(dataDir), 'pglite');

/**
 * Whether the data directory holds an embedded database (PostgreSQL's PG_VERSION file, written when PGlite creates
 * one). Read without creating anything: the admin CLI asks before it opens a database that would be new.
 */
export const hasEmbeddedDatabase = (dataDir: string): boolean =>
  existsSync(join(embeddedDatabasePath(dataDir), 'PG_VERSION'));
