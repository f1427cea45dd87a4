import { openTestDatabase, TEST_BACKENDS } from '@lapi/testing';
import type { KyselyPlugin } from 'kysely';
import { SqlStreamPositions } from './stream-positions';

/** Counts the INSERT statements sent through it. */
const insertCounter = () => {
  const counter = { inserts: 0 };
  const plugin: KyselyPlugin = {
    transformQuery: (args) => {
      if (args.node.kind === 'InsertQueryNode') {
        counter.inserts++;
      }
      return args.node;
    },
    transformResult: (args) => Promise.resolve(args.result),
  };
  return { counter, plugin };
};

describe.each(TEST_BACKENDS)('stream positions without Redis (%s)', (backend) => {
  let db: Awaited<ReturnType<typeof openTestDatabase>>;

  beforeAll(async () => {
    db = await openTestDatabase(backend);
  });
  afterAll(() => db.dispose());

  it('writes the positions moved by many pulls at once in one statement, each save resolving once written', async () => {
    const { counter, plugin } = insertCounter();
    const positions = new SqlStreamPositions(db.handle.db.withPlugin(plugin), backend === 'pglite');
    const pulledAt = Date.UTC(2026, 0, 1);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => positions.save(`many-${i}`, { seq: 100 + i, pulledAt }, true)),
    );
    expect(counter.inserts).toBe(1);
    // Read back by another process (no cache): every position is in the table.
    const reader = new SqlStreamPositions(db.handle.db, false);
    for (let i = 0; i < 50; i++) {
      expect(await reader.load(`many-${i}`)).toEqual({ seq: 100 + i, pulledAt });
    }
    // Moved again: the row is updated.
    await positions.save('many-7', { seq: 500, pulledAt: pulledAt + 1000 }, true);
    expect(await reader.load('many-7')).toEqual({ seq: 500, pulledAt: pulledAt + 1000 });
    expect(await positions.load('many-7')).toEqual({ seq: 500, pulledAt: pulledAt + 1000 });
  });

  it('writes a moved position still waiting for its window when closed', async () => {
    const positions = new SqlStreamPositions(db.handle.db, backend === 'pglite');
    const saved = positions.save('closing', { seq: 3, pulledAt: Date.UTC(2026, 0, 2) }, true);
    await positions.close();
    await saved;
    expect(await new SqlStreamPositions(db.handle.db, false).load('closing')).toEqual({
      seq: 3,
      pulledAt: Date.UTC(2026, 0, 2),
    });
  });
});
