import { openTestDatabase, TEST_BACKENDS } from '@lapi/testing';
import { openDatabase, type DatabaseHandle } from './database';
import { eventStoreContract, type ContractBackend } from './event-store.contract';

describe.each(TEST_BACKENDS)('event store on %s', (backendName) => {
  let disposeDb: () => Promise<void>;
  let handle: DatabaseHandle;
  let second: DatabaseHandle | undefined;
  const backend: ContractBackend = {} as ContractBackend;

  beforeAll(async () => {
    const opened = await openTestDatabase(backendName);
    handle = opened.handle;
    disposeDb = opened.dispose;
    backend.db = handle.db;
    if (handle.concurrent && handle.url) {
      second = await openDatabase({ kind: 'postgres', url: handle.url });
      backend.concurrentDb = second.db;
    }
  });

  afterAll(async () => {
    await second?.close();
    await disposeDb();
  });

  eventStoreContract(backendName, () => backend);
});
