import { canMount } from '@lapi/testing';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedDatabasePath } from './data-dir-lock';
import { migrateToLatest, openDatabase } from './database';
import { DataDirPermissionError } from './private-data-dir';

/** Every entry under `root` whose mode lets its group or others in, as "mode path". */
function notPrivate(root: string): string[] {
  const found: string[] = [];
  const visit = (path: string) => {
    const stats = lstatSync(path);
    if (stats.isSymbolicLink()) {
      return;
    }
    const wanted = stats.isDirectory() ? 0o700 : 0o600;
    if ((stats.mode & 0o777) !== wanted) {
      found.push(`${(stats.mode & 0o777).toString(8)} ${path}`);
    }
    if (stats.isDirectory()) {
      readdirSync(path).forEach((name) => visit(join(path, name)));
    }
  };
  visit(root);
  return found;
}

const asRoot = process.geteuid?.() === 0;
const NOBODY = 65534;

describe('the embedded data directory is private (0700 directories, 0600 files)', () => {
  jest.setTimeout(120_000); // each test opens PGlite once or twice
  let tmp: string;
  let savedUmask: number;

  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lapi-private-'));
    // What an install usually has: a umask that leaves files readable by all.
    savedUmask = process.umask(0o022);
  });
  afterEach(() => {
    process.umask(savedUmask);
    rmSync(tmp, { recursive: true, force: true });
  });

  const open = async (dataDir: string) => {
    const handle = await openDatabase({ kind: 'embedded', dataDir, fsync: false });
    await migrateToLatest(handle.db);
    return handle;
  };

  it('makes a new database private, and the files PGlite creates while it runs too', async () => {
    const dataDir = join(tmp, 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    const handle = await open(dataDir);
    try {
      // New tables (relation files) and new catalog caches, written after the database opened.
      await handle.db.schema.createTable('t').addColumn('x', 'text').execute();
      await handle.db.schema.createIndex('t_x').on('t').column('x').execute();
      expect(notPrivate(dataDir)).toEqual([]);
      expect(readdirSync(embeddedDatabasePath(dataDir))).toContain('postgresql.conf');
    } finally {
      await handle.close();
    }
    expect(notPrivate(dataDir)).toEqual([]);
  });

  it('fixes at the next start what was opened up in between', async () => {
    const dataDir = join(tmp, 'data');
    await (await open(dataDir)).close();
    const pgdata = embeddedDatabasePath(dataDir);
    chmodSync(dataDir, 0o777);
    chmodSync(join(pgdata, 'postgresql.conf'), 0o666);
    chmodSync(join(pgdata, 'global', 'pg_control'), 0o644);
    chmodSync(join(pgdata, 'pg_wal'), 0o755);
    writeFileSync(join(dataDir, 'left-over'), 'x', { mode: 0o666 });
    chmodSync(join(dataDir, 'left-over'), 0o666);
    expect(notPrivate(dataDir)).toHaveLength(5);

    await (await open(dataDir)).close();
    expect(notPrivate(dataDir)).toEqual([]);
  });

  (asRoot ? it : it.skip)('refuses a data directory that belongs to another user (needs root to chown)', async () => {
    const dataDir = join(tmp, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    chownSync(dataDir, NOBODY, NOBODY);
    const opening = openDatabase({ kind: 'embedded', dataDir, fsync: false });
    await expect(opening).rejects.toBeInstanceOf(DataDirPermissionError);
    await expect(opening).rejects.toThrow(
      `the data directory ${dataDir} is owned by uid ${NOBODY}, not by the user running the server (uid 0)`,
    );
    expect(readdirSync(dataDir)).toEqual([]); // nothing was written into it
  });

  (asRoot && canMount() ? it : it.skip)(
    'refuses when a mode cannot be fixed (a read-only mount; needs root to mount)',
    async () => {
      const dataDir = join(tmp, 'data');
      await (await open(dataDir)).close();
      const pgdata = embeddedDatabasePath(dataDir);
      chmodSync(join(pgdata, 'pg_wal'), 0o755);
      const mountPoint = join(pgdata, 'base');
      execFileSync('mount', ['--bind', mountPoint, mountPoint]);
      try {
        chmodSync(join(mountPoint, '1', 'PG_VERSION'), 0o644);
        execFileSync('mount', ['-o', 'remount,bind,ro', mountPoint]);
        const opening = openDatabase({ kind: 'embedded', dataDir, fsync: false });
        await expect(opening).rejects.toBeInstanceOf(DataDirPermissionError);
        await expect(opening).rejects.toThrow(
          `${join(mountPoint, '1', 'PG_VERSION')} in the data directory is mode 0644 and cannot be made 0600`,
        );
      } finally {
        execFileSync('umount', [mountPoint]);
      }
    },
  );
});
