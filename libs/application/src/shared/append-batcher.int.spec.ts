import type { DomainEvent, EventMetadata } from '@lapi/domain';
import { ConcurrencyError, PostgresEventStore } from '@lapi/event-store';
import { openTestDatabase, TEST_BACKENDS } from '@lapi/testing';
import { AppendBatcher } from './append-batcher';

const meta = (i: number): EventMetadata => ({
  actor: { kind: 'machine', id: `m${i}` },
  requestId: `r${i}`,
  clientIp: '127.0.0.1',
  at: '2026-11-29T00:00:00.000Z',
});
const ev = (n: number): DomainEvent => ({ type: 'Tested', data: { n } });
let counter = 0;
const stream = () => `batch-${Date.now()}-${counter++}`;

describe.each(TEST_BACKENDS)('AppendBatcher on %s', (backend) => {
  let store: PostgresEventStore;
  let dispose: () => Promise<void>;

  beforeAll(async () => {
    const opened = await openTestDatabase(backend);
    store = new PostgresEventStore(opened.handle.db);
    dispose = opened.dispose;
  });
  afterAll(() => dispose());

  it('commits concurrent requests together, each with its own metadata and results', async () => {
    const batcher = new AppendBatcher(store);
    const streams = Array.from({ length: 30 }, stream);
    const results = await Promise.all(
      streams.map((s, i) =>
        batcher.append([{ streamId: s, events: [ev(i), ev(i + 1)], expectedVersion: 'no_stream' }], meta(i)),
      ),
    );
    expect(results.map((r) => r.map((x) => x.nextExpectedVersion))).toEqual(streams.map(() => [2n]));
    // The first request went alone; the others waited and shared far fewer transactions than requests.
    expect(new Set(results.map((r) => r[0].transactionId)).size).toBeLessThan(10);
    for (const [i, s] of streams.entries()) {
      const events = await store.readStream(s);
      expect(events.map((e) => e.data)).toEqual([{ n: i }, { n: i + 1 }]);
      expect(events[0].metadata).toEqual(meta(i));
    }
  });

  it('fails only the request at fault when a shared transaction fails', async () => {
    const batcher = new AppendBatcher(store);
    const taken = stream();
    await store.appendToStream(taken, [ev(0)], { expectedVersion: 'no_stream', metadata: meta(0) });
    const streams = Array.from({ length: 10 }, stream);
    const outcomes = await Promise.allSettled([
      ...streams
        .slice(0, 5)
        .map((s, i) => batcher.append([{ streamId: s, events: [ev(i)], expectedVersion: 'no_stream' }], meta(i))),
      batcher.append([{ streamId: taken, events: [ev(9)], expectedVersion: 'no_stream' }], meta(9)),
      ...streams
        .slice(5)
        .map((s, i) => batcher.append([{ streamId: s, events: [ev(i)], expectedVersion: 'no_stream' }], meta(i))),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual([
      ...Array(5).fill('fulfilled'),
      'rejected',
      ...Array(5).fill('fulfilled'),
    ]);
    expect((outcomes[5] as PromiseRejectedResult).reason).toBeInstanceOf(ConcurrencyError);
    for (const s of streams) {
      expect(await store.readStream(s)).toHaveLength(1);
    }
    expect(await store.readStream(taken)).toHaveLength(1);
  });

  it('fails the whole batch, without retrying it, when its connection was lost (it may have committed)', async () => {
    // The connection can die after COMMIT reached the server: the batch is stored, and its caller sees 57P01.
    let lost = 0;
    const ambiguous = Object.create(store) as PostgresEventStore;
    ambiguous.appendToStreams = async (...args: Parameters<PostgresEventStore['appendToStreams']>) => {
      const results = await store.appendToStreams(...args);
      if (args[0].length > 1 && lost++ === 0) {
        throw Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
      }
      return results;
    };
    const batcher = new AppendBatcher(ambiguous);
    const streams = Array.from({ length: 6 }, stream);
    const outcomes = await Promise.allSettled(
      streams.map((s, i) => batcher.append([{ streamId: s, events: [ev(i)], expectedVersion: 'no_stream' }], meta(i))),
    );
    expect(lost).toBe(1);
    const reasons = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as { code?: string }] : []));
    // The first request went alone; the batch of the others failed as one, with the lost connection's error.
    expect(reasons).toHaveLength(5);
    expect(reasons.map((r) => r.code)).toEqual(Array(5).fill('57P01'));
    for (const s of streams) {
      expect(await store.readStream(s)).toHaveLength(1);
    }
  });
});
