import { migrateToLatest, openDatabase, type DatabaseHandle } from '@lapi/event-store';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export type TestBackend = 'postgres' | 'pglite';
export const TEST_BACKENDS: TestBackend[] = ['postgres', 'pglite'];

/** The server `npm test` prepared (test/run-tests.js); tests never touch a database whose name lacks "test". */
export function testServerUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) {
    throw new Error('TEST_DATABASE_URL is not set: run the tests with `npm test`, which starts or finds PostgreSQL');
  }
  return url;
}

/** A fresh, empty database on the test server; dropped by the returned function. */
export async function createScratchDatabase(prefix = 'lapi_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const base = new URL(testServerUrl());
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  if (!name.includes('test')) {
    throw new Error(`refusing to use database ${name}: its name must contain "test"`);
  }
  const admin = postgres(base.toString(), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(base.toString());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const again = postgres(base.toString(), { max: 1, onnotice: () => undefined });
      await again.unsafe(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}

/** A migrated database of either backend, closed and dropped by `dispose`. */
export async function openTestDatabase(
  backend: TestBackend,
): Promise<{ handle: DatabaseHandle; dispose(): Promise<void> }> {
  if (backend === 'pglite') {
    const handle = await openDatabase({ kind: 'embedded', dataDir: ':memory:' });
    await migrateToLatest(handle.db);
    return { handle, dispose: () => handle.close() };
  }
  const scratch = await createScratchDatabase();
  const handle = await openDatabase({ kind: 'postgres', url: scratch.url });
  await migrateToLatest(handle.db);
  return {
    handle,
    dispose: async () => {
      await handle.close();
      await scratch.drop();
    },
  };
}
