import type { DomainEvent, EventMetadata } from '@lapi/domain';
import { PostgresEventStore, type Checkpoint, type RecordedEvent } from '@lapi/event-store';
import { openTestDatabase, openTestRedis } from '@lapi/testing';
import type Redis from 'ioredis';
import { RedisLease } from './lease';
import { formatCheckpoint, parseCheckpoint, Projector, type ProjectionTarget } from './projector';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };
const ev = (n: number): DomainEvent => ({ type: 'Counted', data: { n } });

// A read model in Redis that sums event numbers, with the checkpoint moved by compare-and-set in the same script.
const APPLY = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('INCRBY', KEYS[2], ARGV[3])
redis.call('INCRBY', KEYS[3], ARGV[4])
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

class SumTarget implements ProjectionTarget {
  readonly name = 'sum';
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}
  async checkpoint(): Promise<Checkpoint | null> {
    return parseCheckpoint(await this.redis.get(`${this.prefix}checkpoint`));
  }
  async apply(events: readonly RecordedEvent[], from: Checkpoint | null, to: Checkpoint): Promise<boolean> {
    const sum = events.reduce((s, e) => s + (e.data as { n: number }).n, 0);
    const done = await this.redis.eval(
      APPLY,
      3,
      `${this.prefix}checkpoint`,
      `${this.prefix}sum`,
      `${this.prefix}count`,
      from ? formatCheckpoint(from) : '',
      formatCheckpoint(to),
      String(sum),
      String(events.length),
    );
    return done === 1;
  }
  async totals() {
    const [sum, count] = await this.redis.mget(`${this.prefix}sum`, `${this.prefix}count`);
    return { sum: Number(sum ?? 0), count: Number(count ?? 0) };
  }
}

describe('Projector over the Postgres log into Redis', () => {
  let dispose: () => Promise<void>;
  let store: PostgresEventStore;
  let redisHandle: ReturnType<typeof openTestRedis>;
  let target: SumTarget;

  beforeAll(async () => {
    const db = await openTestDatabase('postgres');
    dispose = db.dispose;
    store = new PostgresEventStore(db.handle.db);
    redisHandle = openTestRedis();
    target = new SumTarget(redisHandle.redis, redisHandle.prefix);
    for (let i = 1; i <= 25; i++) {
      await store.appendToStream(`s-${i % 3}`, [ev(i)], { expectedVersion: 'any', metadata });
    }
  });
  afterAll(async () => {
    await redisHandle.close();
    await dispose();
  });

  const lease = (id: string) => new RedisLease(redisHandle.redis, `${redisHandle.prefix}lease`, id, 5_000);

  it('applies every event once, in batches, and only the lease holder works', async () => {
    const a = new Projector(store, target, lease('a'), 10);
    const b = new Projector(store, target, lease('b'), 10);
    expect((await a.step()).applied).toBe(10);
    expect(await b.step()).toEqual({ owner: false, applied: 0, checkpoint: null });
    expect(await a.catchUp()).toBe(15);
    expect(await target.totals()).toEqual({ sum: 325, count: 25 });
    expect(await a.catchUp()).toBe(0);
  });

  it('fences off a former owner: a batch read against a stale checkpoint is refused', async () => {
    const before = await target.checkpoint();
    await store.appendToStream('s-x', [ev(100)], { expectedVersion: 'any', metadata });
    const page = await store.readAll(before!, 10);
    expect(await target.apply(page.events, before, page.checkpoint)).toBe(true);
    // A second projector that read the same batch before the first one committed it:
    expect(await target.apply(page.events, before, page.checkpoint)).toBe(false);
    expect(await target.totals()).toEqual({ sum: 425, count: 26 });
  });

  it('rebuilds from the start of the log when its store was emptied, without an operator', async () => {
    await redisHandle.redis.del(
      `${redisHandle.prefix}checkpoint`,
      `${redisHandle.prefix}sum`,
      `${redisHandle.prefix}count`,
    );
    const projector = new Projector(store, target, lease('a'), 7);
    expect(await projector.catchUp()).toBe(26);
    expect(await target.totals()).toEqual({ sum: 425, count: 26 });
  });

  it('hands over to another process once the lease expires', async () => {
    const shortA = new RedisLease(redisHandle.redis, `${redisHandle.prefix}lease2`, 'a', 200);
    const shortB = new RedisLease(redisHandle.redis, `${redisHandle.prefix}lease2`, 'b', 200);
    expect(await shortA.acquire()).toBe(true);
    expect(await shortB.acquire()).toBe(false);
    expect(await shortB.owner()).toBe('a');
    await new Promise((r) => setTimeout(r, 300)); // a stops renewing, as a crashed process would
    expect(await shortB.acquire()).toBe(true);
    expect(await shortA.acquire()).toBe(false);
    await shortB.release();
    expect(await shortB.owner()).toBeNull();
  });
});
