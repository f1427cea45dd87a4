import { dueBatches, type GroupingPolicy, type QueuedAlert } from './grouping';

const T0 = Date.parse('2024-05-01T10:00:00Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const queued = (...seconds: number[]): QueuedAlert<string>[] =>
  seconds.map((s, i) => ({ item: `a${i + 1}`, enqueuedAt: at(s) }));
const policy = (groupWaitMs: number, groupThreshold: number): GroupingPolicy => ({ groupWaitMs, groupThreshold });
const items = (batches: readonly (readonly QueuedAlert<string>[])[]) => batches.map((b) => b.map((e) => e.item));

describe('dueBatches (pkg/csplugin watcher.go and broker.go)', () => {
  it.each([
    // name, policy, queued at (s), last flush (s or null), now (s), batches, remaining, next check (s)
    ['an empty queue: nothing', policy(0, 0), [], null, 0, [], 0, undefined],
    ['no grouping: every alert on its own', policy(0, 0), [0, 0, 1], null, 1, [['a1'], ['a2'], ['a3']], 0, undefined],
    [
      'threshold only, below it: waits for more, with no deadline',
      policy(0, 4),
      [0, 1, 2],
      null,
      600,
      [],
      3,
      undefined,
    ],
    [
      'threshold only, reached: all queued, by threshold',
      policy(0, 4),
      [0, 0, 0, 0, 0, 0],
      null,
      1,
      [
        ['a1', 'a2', 'a3', 'a4'],
        ['a5', 'a6'],
      ],
      0,
      undefined,
    ],
    ['group_wait only, not yet: waits group_wait after the first', policy(30_000, 0), [0, 5], null, 10, [], 2, 30],
    [
      'group_wait only, elapsed: all queued, one alert per notification',
      policy(30_000, 0),
      [0, 5],
      null,
      30,
      [['a1'], ['a2']],
      0,
      undefined,
    ],
    ['group_wait counts from the last delivery', policy(30_000, 0), [100], 90, 100, [], 1, 120],
    [
      'group_wait long passed since the last delivery: at once',
      policy(30_000, 0),
      [100],
      0,
      100,
      [['a1']],
      0,
      undefined,
    ],
    ['both, neither reached', policy(1_000, 4), [0, 0, 0], null, 0.5, [], 3, 1],
    ['both, time first', policy(1_000, 4), [0, 0, 0], null, 1, [['a1', 'a2', 'a3']], 0, undefined],
    ['both, count first', policy(4_000, 4), [0, 0, 0, 0.1], null, 0.1, [['a1', 'a2', 'a3', 'a4']], 0, undefined],
  ])('%s', (_name, grouping, times, lastFlush, now, batches, remaining, next) => {
    const due = dueBatches(
      { entries: queued(...times), lastFlushAt: lastFlush === null ? null : at(lastFlush) },
      grouping,
      at(now),
    );
    expect(items(due.batches)).toEqual(batches);
    expect(due.remaining).toHaveLength(remaining);
    expect(due.nextCheckAt).toEqual(next === undefined ? undefined : at(next));
    expect(due.lastFlushAt).toEqual(
      (batches as unknown[]).length > 0 ? at(now) : lastFlush === null ? null : at(lastFlush),
    );
  });

  it('given a delivery, restarts the group_wait clock from it', () => {
    const first = dueBatches({ entries: queued(0), lastFlushAt: null }, policy(10_000, 0), at(10));
    expect(items(first.batches)).toEqual([['a1']]);
    const second = dueBatches({ entries: queued(12), lastFlushAt: first.lastFlushAt }, policy(10_000, 0), at(12));
    expect(second.batches).toEqual([]);
    expect(second.nextCheckAt).toEqual(at(20));
  });
});
