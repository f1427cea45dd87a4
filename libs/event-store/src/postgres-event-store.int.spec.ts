import { createScratchDatabase, openTestDatabase, TEST_BACKENDS } from '@lapi/testing';
import type { Kysely } from 'kysely';
import { openDatabase, type DatabaseHandle } from './database';
import { eventStoreContract, type ContractBackend } from './event-store.contract';

describe.each(TEST_BACKENDS)('event store on %s', (backendName) => {
  let disposeDb: () => Promise<void>;
  let handle: DatabaseHandle;
  let second: DatabaseHandle | undefined;
  let other: { handle: DatabaseHandle; drop(): Promise<void> } | undefined;
  const backend: ContractBackend = {} as ContractBackend;

  beforeAll(async () => {
    const opened = await openTestDatabase(backendName);
    handle = opened.handle;
    disposeDb = opened.dispose;
    backend.db = handle.db;
    if (handle.concurrent && handle.url) {
      second = await openDatabase({ kind: 'postgres', url: handle.url });
      backend.concurrentDb = second.db;
      const scratch = await createScratchDatabase();
      other = { handle: await openDatabase({ kind: 'postgres', url: scratch.url }), drop: scratch.drop };
      backend.otherDatabase = other.handle.db as Kysely<unknown>;
    }
  });

  afterAll(async () => {
    await second?.close();
    await other?.handle.close();
    await other?.drop();
    await disposeDb();
  });

  eventStoreContract(backendName, () => backend);
});
