import { nestAdminContext, runAdminRequest } from '@lapi/application';
import { loadConfig } from '@lapi/config';
import { migrateToLatest, openDatabase, type DatabaseHandle } from '@lapi/event-store';
import { canMount, mountTmpfs, TEST_JWT_SECRET, testServerUrl, unmount } from '@lapi/testing';
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { AGENT_UA, cscliAlert } from '../../test/api-harness';
import { createApiApp, type ApiApp } from '../app.factory';

// A real full disk: a small tmpfs (mounting needs root) holding the PGlite files, or a PostgreSQL tablespace.
const mountable = canMount();
if (!mountable) {
  process.stderr.write('storage-full.int.spec.ts: this process cannot mount a small tmpfs (needs root): skipped\n');
}
// The tablespace is a directory of the PostgreSQL server's host: this one, owned by its postgres user.
const POSTGRES_IS_LOCAL = ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(testServerUrl()).hostname);
const POSTGRES_UID = (() => {
  try {
    return Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  } catch {
    return undefined;
  }
})();

interface FullDisk {
  handle: DatabaseHandle;
  /** The mount point: a file written there until ENOSPC leaves the database no room. */
  mountPoint: string;
  dispose(): Promise<void>;
}

async function embeddedOnTmpfs(): Promise<FullDisk> {
  const mountPoint = mountTmpfs(96);
  const handle = await openDatabase({ kind: 'embedded', dataDir: join(mountPoint, 'data'), fsync: false });
  return {
    handle,
    mountPoint,
    dispose: async () => {
      await handle.close();
      unmount(mountPoint);
    },
  };
}

/** A database whose default tablespace is on a small tmpfs (the PostgreSQL under test must run on this host). */
async function postgresOnTmpfs(): Promise<FullDisk> {
  const mountPoint = mountTmpfs(48, { uid: POSTGRES_UID });
  const location = join(mountPoint, 'tablespace');
  mkdirSync(location);
  execFileSync('chown', ['postgres:postgres', location]);
  const suffix = Math.random().toString(16).slice(2, 10);
  const [tablespace, database] = [`lapi_test_full_${suffix}`, `lapi_test_full_${suffix}`];
  const admin = postgres(testServerUrl(), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create tablespace ${tablespace} location '${location}'`);
  await admin.unsafe(`create database ${database} tablespace ${tablespace}`);
  const url = new URL(testServerUrl());
  url.pathname = `/${database}`;
  const handle = await openDatabase({ kind: 'postgres', url: url.toString() });
  return {
    handle,
    mountPoint,
    dispose: async () => {
      await handle.close();
      await admin.unsafe(`drop database if exists ${database} with (force)`);
      await admin.unsafe(`drop tablespace if exists ${tablespace}`);
      await admin.end();
      unmount(mountPoint);
    },
  };
}

/** Writes a file into `dir` until the file system refuses with ENOSPC; returns its path. */
function fillUp(dir: string): string {
  const path = join(dir, 'filler');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(256 * 1024, 1);
  try {
    for (;;) {
      writeSync(fd, block);
    }
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
  return path;
}

const BACKENDS: [string, () => Promise<FullDisk>, boolean][] = [
  ['PGlite (ENOSPC from its file system)', embeddedOnTmpfs, mountable],
  [
    'PostgreSQL (SQLSTATE 53100 disk_full)',
    postgresOnTmpfs,
    mountable && POSTGRES_IS_LOCAL && POSTGRES_UID !== undefined,
  ],
];

describe.each(BACKENDS)('a full disk on %s', (_name, open, runnable) => {
  jest.setTimeout(180_000);
  let disk: FullDisk;
  let api: ApiApp;

  beforeAll(async () => {
    if (!runnable) {
      return;
    }
    disk = await open();
    await migrateToLatest(disk.handle.db);
    const config = loadConfig({
      DATABASE_URL: 'postgres://unused/x',
      CS_LAPI_SECRET: TEST_JWT_SECRET,
      LAPI_LOG_LEVEL: 'warn',
    });
    api = await createApiApp(config, disk.handle);
    await api.app.getHttpAdapter().getInstance().ready();
  });
  afterAll(async () => {
    await api?.close();
    await disk?.dispose();
  });

  (runnable ? it : it.skip)(
    'answers 503 "storage full" with Retry-After, and 201 once there is room again',
    async () => {
      await runAdminRequest(
        { op: 'machines.add', name: 'agent', password: 'agent-password' },
        nestAdminContext(api.app),
      );
      const login = await api.app.inject({
        method: 'POST',
        url: '/v1/watchers/login',
        payload: { machine_id: 'agent', password: 'agent-password' },
        headers: { 'user-agent': AGENT_UA },
      });
      const headers = { authorization: `Bearer ${login.json<{ token: string }>().token}`, 'user-agent': AGENT_UA };
      let n = 0;
      // Incompressible text, so each push needs new pages of its own.
      const push = () => {
        const alert = cscliAlert(
          Array.from({ length: 50 }, () => ({ value: `10.${n % 250}.${(n >> 8) % 250}.${n++ % 250}` })),
          { stopAt: new Date() },
        );
        const message = Array.from({ length: 400 }, () => Math.random().toString(36).slice(2)).join('');
        return api.app.inject({ method: 'POST', url: '/v1/alerts', headers, payload: [{ ...alert, message }] });
      };
      expect((await push()).statusCode).toBe(201);

      const filler = fillUp(disk.mountPoint);
      let refused;
      for (let attempt = 0; attempt < 200 && !refused; attempt++) {
        const res = await push();
        if (res.statusCode !== 201) {
          refused = res;
        }
      }
      expect(refused?.statusCode).toBe(503);
      expect(refused?.headers['retry-after']).toBe('30');
      expect(refused?.json()).toEqual({ message: 'storage full' });

      unlinkSync(filler);
      expect((await push()).statusCode).toBe(201); // the agent's retry goes through
    },
  );
});
