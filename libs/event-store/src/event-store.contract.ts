import type { DomainEvent, EventMetadata } from '@lapi/domain';
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { DB } from './db';
import { ConcurrencyError, START, type EventStore, type InlineProjection, type RecordedEvent } from './event-store';
import { PostgresEventStore } from './postgres-event-store';

export interface ContractBackend {
  db: Kysely<DB>;
  /** A second, independent connection pool to the same database, where the backend has several connections. */
  concurrentDb?: Kysely<DB>;
  /** A connection to another database of the same server, where there is a server. */
  otherDatabase?: Kysely<unknown>;
}

const metadata: EventMetadata = {
  actor: { kind: 'cli', id: 'test' },
  requestId: 'r1',
  clientIp: '127.0.0.1',
  at: '2026-11-28T20:00:00.000Z',
};
const ev = (n: number): DomainEvent => ({ type: 'Tested', data: { n } });
let counter = 0;
const newStream = () => `test-${Date.now()}-${counter++}`;

/** One suite for every EventStore adapter (emmett's features.ts): the behaviour the rest of the system relies on. */
export function eventStoreContract(name: string, backend: () => ContractBackend): void {
  describe(`EventStore contract: ${name}`, () => {
    let store: EventStore;
    beforeEach(() => {
      store = new PostgresEventStore(backend().db);
    });

    it('appends to a new stream and reads it back with versions, positions and metadata', async () => {
      const stream = newStream();
      const result = await store.appendToStream(stream, [ev(1), ev(2)], { expectedVersion: 'no_stream', metadata });
      expect(result.nextExpectedVersion).toBe(2n);
      const events = await store.readStream(stream);
      expect(events.map((e) => [e.type, e.data, e.streamVersion])).toEqual([
        ['Tested', { n: 1 }, 1n],
        ['Tested', { n: 2 }, 2n],
      ]);
      expect(events[0].metadata).toEqual(metadata);
      expect(events[1].globalPosition).toBeGreaterThan(events[0].globalPosition);
      expect(events[1].globalPosition).toBe(result.lastPosition);
      expect(typeof events[0].transactionId).toBe('bigint');
      expect(await store.streamVersion(stream)).toBe(2n);
    });

    it('stores data and metadata as JSON objects that SQL can query, not as JSON-encoded strings', async () => {
      const stream = newStream();
      await store.appendToStream(stream, [ev(7)], { expectedVersion: 'no_stream', metadata });
      const row = await sql<{ data: string; n: string | null; actor: string | null }>`
        select jsonb_typeof(data) as data, data->>'n' as n, metadata->'actor'->>'kind' as actor
        from events where stream_id = ${stream}`.execute(backend().db);
      expect(row.rows).toEqual([{ data: 'object', n: '7', actor: 'cli' }]);
    });

    it('continues a stream at the expected version and refuses a stale one with a typed error', async () => {
      const stream = newStream();
      await store.appendToStream(stream, [ev(1)], { expectedVersion: 'no_stream', metadata });
      await store.appendToStream(stream, [ev(2)], { expectedVersion: 1n, metadata });
      await expect(store.appendToStream(stream, [ev(3)], { expectedVersion: 1n, metadata })).rejects.toBeInstanceOf(
        ConcurrencyError,
      );
      await expect(
        store.appendToStream(stream, [ev(3)], { expectedVersion: 'no_stream', metadata }),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      await expect(
        store.appendToStream(newStream(), [ev(1)], { expectedVersion: 3n, metadata }),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      expect((await store.readStream(stream)).map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }]);
    });

    it('appends to several streams atomically: one stale version and none is written', async () => {
      const a = newStream();
      const b = newStream();
      await store.appendToStream(b, [ev(0)], { expectedVersion: 'no_stream', metadata });
      await expect(
        store.appendToStreams(
          [
            { streamId: a, events: [ev(1)], expectedVersion: 'no_stream' },
            { streamId: b, events: [ev(2)], expectedVersion: 'no_stream' },
          ],
          { metadata },
        ),
      ).rejects.toBeInstanceOf(ConcurrencyError);
      expect(await store.readStream(a)).toEqual([]);
      const results = await store.appendToStreams(
        [
          { streamId: a, events: [ev(1)], expectedVersion: 'no_stream' },
          { streamId: b, events: [ev(2), ev(3)], expectedVersion: 1n },
        ],
        { metadata },
      );
      expect(results.map((r) => r.nextExpectedVersion)).toEqual([1n, 3n]);
      expect(results[0].transactionId).toBe(results[1].transactionId);
    });

    it('appends to many streams at once (a bulk command) as it appends them one after the other', async () => {
      const fresh = Array.from({ length: 30 }, newStream);
      const existing = Array.from({ length: 20 }, newStream);
      for (const id of existing) {
        await store.appendToStream(id, [ev(0)], { expectedVersion: 'no_stream', metadata });
      }
      const other = { ...metadata, requestId: 'r2' };
      const appends = [
        ...fresh.map((streamId, i) => ({
          streamId,
          events: [ev(i), ev(i + 100)],
          expectedVersion: 'no_stream' as const,
        })),
        ...existing.map((streamId, i) => ({ streamId, events: [ev(i + 200)], expectedVersion: 1n, metadata: other })),
      ];
      // One stale version among fifty: nothing is written.
      const stale = appends.map((a, i) => (i === 40 ? { ...a, expectedVersion: 5n } : a));
      await expect(store.appendToStreams(stale, { metadata })).rejects.toEqual(new ConcurrencyError(existing[10], 5n));
      expect(await store.readStream(fresh[0])).toEqual([]);
      expect(await store.streamVersion(existing[0])).toBe(1n);

      const results = await store.appendToStreams(appends, { metadata });
      expect(results.map((r) => r.nextExpectedVersion)).toEqual([...fresh.map(() => 2n), ...existing.map(() => 2n)]);
      expect(new Set(results.map((r) => r.transactionId)).size).toBe(1);
      const read = await store.readStream(fresh[3]);
      expect(read.map((e) => [e.streamVersion, e.data, e.metadata])).toEqual([
        [1n, { n: 3 }, metadata],
        [2n, { n: 103 }, metadata],
      ]);
      expect(results[3].lastPosition).toBe(read[1].globalPosition);
      const continued = await store.readStream(existing[7]);
      expect(continued.map((e) => [e.streamVersion, e.data, e.metadata])).toEqual([
        [1n, { n: 0 }, metadata],
        [2n, { n: 207 }, other],
      ]);
      // The global log holds them in the order given.
      const positions = results.map((r) => r.lastPosition);
      expect([...positions].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(positions);
    });

    it('keeps the metadata of each append in a shared transaction', async () => {
      const [a, b] = [newStream(), newStream()];
      const other = { ...metadata, requestId: 'r2', clientIp: '192.0.2.1' };
      await store.appendToStreams(
        [
          { streamId: a, events: [ev(1)], expectedVersion: 'no_stream', metadata: other },
          { streamId: b, events: [ev(2)], expectedVersion: 'no_stream' },
        ],
        { metadata },
      );
      expect((await store.readStream(a))[0].metadata).toEqual(other);
      expect((await store.readStream(b))[0].metadata).toEqual(metadata);
    });

    it("appends with 'any' whatever the version", async () => {
      const stream = newStream();
      await store.appendToStream(stream, [ev(1)], { expectedVersion: 'any', metadata });
      const r = await store.appendToStream(stream, [ev(2), ev(3)], { expectedVersion: 'any', metadata });
      expect(r.nextExpectedVersion).toBe(3n);
    });

    it('reads a stream from a version', async () => {
      const stream = newStream();
      await store.appendToStream(stream, [ev(1), ev(2), ev(3)], { expectedVersion: 'no_stream', metadata });
      expect((await store.readStream(stream, { fromVersion: 2n })).map((e) => e.streamVersion)).toEqual([2n, 3n]);
      expect(await store.readStream(newStream())).toEqual([]);
    });

    it('reads the global log in order from a checkpoint, in pages', async () => {
      const a = newStream();
      const b = newStream();
      const { events: before, checkpoint: head } = await readEverything(store);
      await store.appendToStream(a, [ev(1)], { expectedVersion: 'no_stream', metadata });
      await store.appendToStream(b, [ev(2), ev(3)], { expectedVersion: 'no_stream', metadata });
      await store.appendToStream(a, [ev(4)], { expectedVersion: 1n, metadata });
      const page1 = await store.readAll(head, 2);
      const page2 = await store.readAll(page1.checkpoint, 2);
      const page3 = await store.readAll(page2.checkpoint, 2);
      expect([...page1.events, ...page2.events].map((e) => e.data)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
      expect(page3.events).toEqual([]);
      expect(await store.countAfter(head)).toBe(4);
      expect(await store.countAfter(page1.checkpoint)).toBe(2);
      expect(page3.checkpoint).toEqual(page2.checkpoint);
      expect(await store.head()).toEqual(page2.checkpoint);
      expect(before.every((e) => e.globalPosition < page1.events[0].globalPosition)).toBe(true);
    });

    it('tells how long ago the first event after a checkpoint was appended (0 when none)', async () => {
      const { checkpoint: before } = await readEverything(store);
      expect(await store.lagAfter(before)).toBe(0);
      await store.appendToStream(newStream(), [ev(1)], { expectedVersion: 'no_stream', metadata });
      await new Promise((resolve) => setTimeout(resolve, 150));
      await store.appendToStream(newStream(), [ev(2)], { expectedVersion: 'no_stream', metadata });
      const lag = await store.lagAfter(before);
      expect(lag).toBeGreaterThanOrEqual(140);
      expect(lag).toBeLessThan(60_000);
      const { checkpoint: after } = await readEverything(store);
      expect(await store.lagAfter(after)).toBe(0);
    });

    it('rolls back the events when an inline projection fails, and commits both when it succeeds', async () => {
      const stream = newStream();
      const failing: InlineProjection = {
        name: 'failing',
        eventTypes: ['Tested'],
        apply: () => Promise.reject(new Error('projection failed')),
      };
      const withFailing = new PostgresEventStore(backend().db, [failing]);
      await expect(
        withFailing.appendToStream(stream, [ev(1)], { expectedVersion: 'no_stream', metadata }),
      ).rejects.toThrow('projection failed');
      expect(await store.readStream(stream)).toEqual([]);
      expect(await store.streamVersion(stream)).toBe(0n);

      const seen: RecordedEvent[] = [];
      const recording: InlineProjection = {
        name: 'recording',
        eventTypes: ['Tested'],
        apply: (_trx, events) => {
          seen.push(...events);
          return Promise.resolve();
        },
      };
      await new PostgresEventStore(backend().db, [recording]).appendToStream(stream, [ev(1)], {
        expectedVersion: 'no_stream',
        metadata,
      });
      expect(seen.map((e) => e.streamVersion)).toEqual([1n]);
    });

    it('lets exactly one of two concurrent writers at the same version win', async () => {
      const stream = newStream();
      await store.appendToStream(stream, [ev(0)], { expectedVersion: 'no_stream', metadata });
      const other = new PostgresEventStore(backend().concurrentDb ?? backend().db);
      const results = await Promise.allSettled([
        store.appendToStream(stream, [ev(1)], { expectedVersion: 1n, metadata }),
        other.appendToStream(stream, [ev(2)], { expectedVersion: 1n, metadata }),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(rejected).toHaveLength(1);
      expect(rejected[0].reason).toBeInstanceOf(ConcurrencyError);
      expect(await store.streamVersion(stream)).toBe(2n);
    });

    it('never lets a reader of the global log skip an event committed late by a concurrent transaction', async () => {
      const concurrentDb = backend().concurrentDb;
      if (!concurrentDb) {
        // PGlite is a single connection: two transactions are never open at once, so no commit can be late.
        return;
      }
      const { checkpoint: head } = await readEverything(store);
      let release!: () => void;
      let entered!: () => void;
      const inside = new Promise<void>((r) => (entered = r));
      const gate = new Promise<void>((r) => (release = r));
      // The slow writer takes its position first, then holds its transaction open.
      const slow = new PostgresEventStore(concurrentDb, [
        {
          name: 'hold-open',
          eventTypes: ['Slow'],
          apply: async () => {
            entered();
            await gate;
          },
        },
      ]);
      const slowAppend = slow.appendToStream(newStream(), [{ type: 'Slow', data: {} }], {
        expectedVersion: 'no_stream',
        metadata,
      });
      await inside;
      await store.appendToStream(newStream(), [ev(1)], { expectedVersion: 'no_stream', metadata }); // commits first, later position

      let whileOpen;
      let whileOpenHead;
      try {
        whileOpen = await store.readAll(head, 100);
        whileOpenHead = await store.head();
      } finally {
        release();
        await slowAppend;
      }
      expect(whileOpen.events).toEqual([]); // nothing past the open transaction was visible
      expect(whileOpenHead).toEqual(head);

      const after = await store.readAll(whileOpen.checkpoint, 100);
      expect(after.events.map((e) => e.type)).toEqual(['Slow', 'Tested']);
      expect(after.events[0].globalPosition).toBeLessThan(after.events[1].globalPosition);
    });

    it('is not held back by a writing transaction open in another database of the server', async () => {
      const otherDatabase = backend().otherDatabase;
      if (!otherDatabase) {
        return; // PGlite: no other database, and no other transaction
      }
      await sql`create table if not exists elsewhere (n int)`.execute(otherDatabase);
      await expectReadersNotHeldBackBy(store, otherDatabase, sql`insert into elsewhere values (1)`);
    });

    it('is not held back by a transaction open in the same database that wrote to another table', async () => {
      const concurrentDb = backend().concurrentDb;
      if (!concurrentDb) {
        return; // PGlite is a single connection: no other transaction can be open
      }
      await sql`create table if not exists contract_elsewhere (n int)`.execute(concurrentDb);
      await expectReadersNotHeldBackBy(store, concurrentDb, sql`insert into contract_elsewhere values (1)`);
    });
  });
}

/** With `write` done in a transaction held open on `db`, an event appended here is read at once, and head moves. */
async function expectReadersNotHeldBackBy<T>(store: EventStore, db: Kysely<T>, write: RawBuilder<unknown>) {
  const { checkpoint: before } = await readEverything(store);
  const open = await holdOpen(db, (trx) => write.execute(trx));
  let read;
  let head;
  try {
    await store.appendToStream(newStream(), [ev(1)], { expectedVersion: 'no_stream', metadata });
    read = await store.readAll(before, 100);
    head = await store.head();
  } finally {
    await open.close();
  }
  expect(read.events.map((e) => e.data)).toEqual([{ n: 1 }]);
  expect(head).toEqual(read.checkpoint);
}

/** Runs `work` in a transaction on `db` and keeps that transaction open until `close`. */
async function holdOpen<T>(db: Kysely<T>, work: (trx: Transaction<T>) => Promise<unknown>) {
  let release!: () => void;
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => (entered = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  const done = db.transaction().execute(async (trx) => {
    await work(trx);
    entered();
    await gate;
  });
  await Promise.race([inside, done]);
  return {
    close: async () => {
      release();
      await done;
    },
  };
}

async function readEverything(store: EventStore) {
  let checkpoint = START;
  const events: RecordedEvent[] = [];
  for (;;) {
    const page = await store.readAll(checkpoint, 1000);
    if (page.events.length === 0) {
      return { events, checkpoint };
    }
    events.push(...page.events);
    checkpoint = page.checkpoint;
  }
}
