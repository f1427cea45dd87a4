import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join, resolve } from 'node:path';

/** The data directory is not this process's, or part of it stays readable by others: the data is not opened. */
export class DataDirPermissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirPermissionError';
  }
}

const DIR_MODE = 0o700;
const FILE_MODE = 0o600;
const GROUP_OR_WORLD = 0o077;

/**
 * The data directory holds the database (its catalogs and WAL carry the password hashes), the JWT secret and the
 * admin socket: as PostgreSQL does for its own, only the user running the server may enter it. Creates it 0700,
 * sets every directory in it to 0700 and every file to 0600, and sets the process umask to 077 so that what is
 * created later is private too. PGlite writes the files of a new database 0666 whatever the umask: call this again
 * once it has opened. Throws DataDirPermissionError when the directory belongs to another user or a mode cannot
 * be fixed.
 */
export function makeDataDirPrivate(dataDir: string): void {
  process.umask(GROUP_OR_WORLD);
  const root = resolve(dataDir);
  mkdirSync(root, { recursive: true, mode: DIR_MODE });
  const stats = statSync(root);
  if (!stats.isDirectory()) {
    throw new DataDirPermissionError(`the data directory ${root} is not a directory`);
  }
  const uid = process.geteuid?.();
  if (uid !== undefined && stats.uid !== uid) {
    throw new DataDirPermissionError(
      `the data directory ${root} is owned by uid ${stats.uid}, not by the user running the server (uid ${uid}): ` +
        `run the server as its owner, or give it to this user (chown -R ${uid} ${root})`,
    );
  }
  makePrivate(root, stats);
}

function makePrivate(path: string, stats: Stats): void {
  if (stats.isSymbolicLink()) {
    return; // a link's own mode means nothing; what it points to is not ours to change
  }
  const wanted = stats.isDirectory() ? DIR_MODE : FILE_MODE;
  if ((stats.mode & 0o777) !== wanted) {
    try {
      chmodSync(path, wanted);
    } catch (error) {
      throw new DataDirPermissionError(
        `${path} in the data directory is mode ${octal(stats.mode)} and cannot be made ${octal(wanted)}: ${(error as Error).message}`,
      );
    }
    const mode = lstatSync(path).mode;
    if ((mode & GROUP_OR_WORLD) !== 0) {
      // chmod "succeeded" on a file system that ignores it (some network or Windows mounts).
      throw new DataDirPermissionError(
        `${path} in the data directory stays mode ${octal(mode)} after chmod ${octal(wanted)}: put the data directory on a file system that keeps modes`,
      );
    }
  }
  if (stats.isDirectory()) {
    for (const name of readdirSync(path)) {
      const child = join(path, name);
      const childStats = lstatSync(child, { throwIfNoEntry: false });
      if (childStats) {
        makePrivate(child, childStats); // else removed since the listing (a temporary file)
      }
    }
  }
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;
