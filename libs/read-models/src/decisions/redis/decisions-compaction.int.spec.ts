import type { Checkpoint, RecordedEvent } from '@lapi/event-store';
import { openTestRedis } from '@lapi/testing';
import type Redis from 'ioredis';
import { redisKeys, type RedisKeys } from '../../coordination/redis-keys';
import type { DecisionFilter } from '../sql/decision-queries';
import { DecisionGenerations } from './decision-generations';
import { DecisionReplica } from './decision-replica';
import { DecisionsHousekeeping } from './decisions-housekeeping';
import { RedisDecisionsTarget } from './redis-decisions.target';

const ALL: DecisionFilter = { contains: true, includeSimulated: true };
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

// Events as the log gives them, with the times they were appended: the compaction window is measured on those.
let position = 0;
const recorded = (type: string, data: object, createdAt: number): RecordedEvent => {
  position += 1;
  return {
    type,
    data,
    metadata: { actor: { kind: 'cli', id: 't' }, at: new Date(createdAt).toISOString() },
    streamId: 's',
    streamVersion: 1n,
    globalPosition: BigInt(position),
    transactionId: BigInt(position),
    createdAt: new Date(createdAt),
  };
};
const alert = (alertId: number, decisions: [id: number, value: string, until: number][], at: number) =>
  recorded(
    'AlertReceived',
    {
      alertId,
      decisions: decisions.map(([id, value, until]) => ({
        id,
        uuid: `d${id}`,
        origin: 'cscli',
        type: 'ban',
        scope: 'Ip',
        value,
        scenario: 's',
        simulated: false,
        until: new Date(until).toISOString(),
      })),
    },
    at,
  );
const deleteDecisions = (ids: number[], at: number) =>
  recorded('DecisionsDeleted', { decisionIds: ids, at: new Date(at).toISOString() }, at);
const deleteAlerts = (ids: number[], at: number) =>
  recorded('AlertsDeleted', { alertIds: ids, at: new Date(at).toISOString() }, at);

/** One deployment's decisions read model (generation 1) fed batch by batch, as the projector would. */
class Model {
  readonly keys: RedisKeys;
  readonly generations: DecisionGenerations;
  readonly target: RedisDecisionsTarget;
  private checkpoint: Checkpoint | null = null;

  constructor(
    readonly redis: Redis,
    prefix: string,
  ) {
    this.keys = redisKeys(prefix);
    this.generations = new DecisionGenerations(redis, this.keys);
    this.target = new RedisDecisionsTarget(redis, this.generations.keysOf(1));
  }

  async apply(...events: RecordedEvent[]): Promise<void> {
    const to = { transactionId: events.at(-1)!.transactionId, position: events.at(-1)!.globalPosition };
    expect(await this.target.apply(events, this.checkpoint, to)).toBe(true);
    this.checkpoint = to;
  }

  replica(): DecisionReplica {
    return new DecisionReplica(this.redis, this.generations);
  }

  async log() {
    const [seq, hash] = await this.redis.mget(this.target.keys.seq, this.target.keys.hash);
    const entries = await this.redis.xrange(this.target.keys.changes, '-', '+');
    return { seq, hash, entries };
  }
}

const ids = (list: { id: number }[]) => list.map((d) => d.id);

describe('compaction of the decisions read model', () => {
  let redis: ReturnType<typeof openTestRedis>;
  const now = Date.now();
  const t0 = now - 3 * DAY;

  beforeEach(() => {
    redis = openTestRedis();
  });
  afterEach(() => redis.close());

  /** Three days of log: what ended two days ago is older than a day's window, the rest is not. */
  const history = (m: Model) => [
    () =>
      m.apply(
        alert(
          1,
          [
            [11, '192.0.2.1', t0 + HOUR],
            [12, '192.0.2.2', now + 10 * DAY],
          ],
          t0,
        ),
      ),
    () => m.apply(alert(2, [[21, '192.0.2.3', t0 + 10 * DAY]], t0 + HOUR), deleteDecisions([21], t0 + 2 * HOUR)),
    () =>
      m.apply(
        alert(
          3,
          [
            [31, '192.0.2.4', now + HOUR],
            [32, '192.0.2.5', now - HOUR],
          ],
          now - 2 * HOUR,
        ),
      ),
  ];
  const later = (m: Model) => [
    // 11 ended days ago and 21 was deleted: neither is announced again, compacted or not.
    () => m.apply(deleteDecisions([11, 21, 31], now - MIN), deleteAlerts([1, 2], now - MIN)),
    () => m.apply(alert(4, [[41, '192.0.2.6', now + HOUR]], now)),
  ];

  it('drops records that ended before the window, trims the log, and numbers every change as without it', async () => {
    const compacted = new Model(redis.redis, `${redis.prefix}a:`);
    const plain = new Model(redis.redis, `${redis.prefix}b:`);
    for (const step of history(compacted)) {
      await step();
    }
    for (const step of history(plain)) {
      await step();
    }
    const before = await compacted.log();
    const alert1 = `${compacted.target.keys.prefix}alert:1`;
    expect((await redis.redis.smembers(alert1)).sort()).toEqual(['11', '12']);

    expect(await compacted.target.compact(now, DAY, 1)).toEqual({ dropped: 1, done: false });
    expect(await compacted.target.compactedBefore()).toBe(0); // published once every record is dropped
    expect(await compacted.target.compact(now, DAY, 1)).toEqual({ dropped: 1, done: false });
    expect(await compacted.target.compact(now, DAY, 1)).toEqual({ dropped: 0, done: true });
    const cutoff = await compacted.target.compactedBefore();
    // A day before the log's time (its last batch, two hours ago), to the second.
    expect(cutoff).toBe(Math.floor((now - 2 * HOUR - DAY) / 1000) * 1000);

    // 11 ended at t0+1h, 21 was deleted at t0+2h: both gone, from the records and the alert sets.
    expect(ids(await compacted.target.records()).sort()).toEqual([12, 31, 32]);
    expect(await redis.redis.smembers(alert1)).toEqual(['12']);
    // The change log keeps only the minutes of log time after the cutoff: the batch at now-2h, seqs 5 and 6.
    const after = await compacted.log();
    expect(after.entries.map(([id]) => id)).toEqual(['5-0', '6-0']);
    expect(after.entries).toEqual(before.entries.slice(-2));
    expect([after.seq, after.hash]).toEqual([before.seq, before.hash]);

    for (const step of later(compacted)) {
      await step();
    }
    for (const step of later(plain)) {
      await step();
    }
    // 31 and the removal of 12 are announced; nothing for 11 or 21.
    const plainLog = await plain.log();
    expect(plainLog.entries.slice(6).map(([, f]) => (JSON.parse(f[1]) as { id: number }).id)).toEqual([31, 12, 41]);
    const compactedLog = await compacted.log();
    expect(compactedLog.seq).toBe(plainLog.seq);
    expect(compactedLog.hash).toBe(plainLog.hash);
    expect(compactedLog.entries).toEqual(plainLog.entries.slice(4));
  });

  it('measures the window on the log: a build replaying old events drops only what had ended a window before them', async () => {
    const m = new Model(redis.redis, redis.prefix);
    await history(m)[0]();
    // The log stands at t0: 11 ended an hour after it, inside the window.
    expect(await m.target.compact(now, DAY)).toEqual({ dropped: 0, done: true });
    expect(ids(await m.target.records()).sort()).toEqual([11, 12]);
  });

  it('bootstraps a fresh replica from the records and the recent log; cursors from before the cutoff get a full answer', async () => {
    const m = new Model(redis.redis, redis.prefix);
    const steps = [...history(m), ...later(m)];
    const old = m.replica(); // follows the whole log from the start
    for (const step of steps.slice(0, 3)) {
      await step();
      await old.sync();
    }
    const early = (await old.pull(ALL, false, null, t0)).next;
    await m.target.compact(now, DAY);
    for (const step of steps.slice(3)) {
      await step();
    }

    const fresh = m.replica();
    expect(ids(await fresh.find(ALL, now))).toEqual([41]);
    expect(await redis.redis.xlen(m.target.keys.changes)).toBeLessThan(Number((await m.log()).seq));
    expect(ids(await old.find(ALL, now))).toEqual([41]);
    // The long-lived replica dropped what compaction dropped: both answer alike, startup and deltas.
    for (const r of [old, fresh]) {
      const startup = await r.pull(ALL, false, null, now);
      expect({ new: ids(startup.new), deleted: ids(startup.deleted) }).toEqual({ new: [41], deleted: [12, 31, 32] });
    }
    const recent = { seq: 6, pulledAt: now - MIN / 2, hash: undefined };
    for (const r of [old, fresh]) {
      const delta = await r.pull(ALL, false, recent, now);
      expect({ new: ids(delta.new), deleted: ids(delta.deleted), full: delta.full }).toEqual({
        new: [41],
        deleted: [12, 31],
        full: false,
      });
    }
    // Pulled three days ago: what ended since may be compacted away, so everything, as on a first pull.
    const stale = await fresh.pull(ALL, false, early, now);
    expect({ new: ids(stale.new), deleted: ids(stale.deleted), full: stale.full }).toEqual({
      new: [41],
      deleted: [12, 31, 32],
      full: true,
    });
  });

  it('takes a consistent snapshot while a projector batch changes records under the scan', async () => {
    const m = new Model(redis.redis, redis.prefix);
    const steps = [...history(m), ...later(m)];
    const old = m.replica();
    for (const step of steps.slice(0, 3)) {
      await step();
      await old.sync();
    }
    // The fresh replica's first HSCAN runs a batch first: records changed after the head it read.
    let raced = false;
    const racing = new Proxy(redis.redis, {
      get(target, key, receiver) {
        if (key === 'hscan' && !raced) {
          raced = true;
          return async (...args: Parameters<Redis['hscan']>) => {
            for (const step of steps.slice(3)) {
              await step();
            }
            // And every field twice, as HSCAN may return a field during a rehash.
            const [next, fields] = await target.hscan(...args);
            return [next, [...fields, ...fields]];
          };
        }
        const value = Reflect.get(target, key, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const fresh = new DecisionReplica(racing, m.generations);
    await fresh.sync();
    expect(raced).toBe(true);
    await old.sync();
    expect(fresh.seq).toBe(old.seq);
    for (let seq = 0; seq <= old.seq; seq++) {
      const cursor = { seq, pulledAt: now - 3 * DAY };
      const [a, b] = await Promise.all([old.pull(ALL, false, cursor, now), fresh.pull(ALL, false, cursor, now)]);
      expect({ seq, new: ids(b.new), deleted: ids(b.deleted) }).toEqual({
        seq,
        new: ids(a.new),
        deleted: ids(a.deleted),
      });
    }
  });

  it('deletes the generations a crash left behind, never the live one nor the one being built', async () => {
    const m = new Model(redis.redis, redis.prefix);
    await history(m)[0]();
    const g2 = new RedisDecisionsTarget(redis.redis, m.generations.keysOf(2));
    await g2.apply([alert(1, [[11, '192.0.2.1', now + HOUR]], now)], null, { transactionId: 1n, position: 1n });
    // Switched to 2, then died before deleting 1; a rebuild into 3 is asked for and under way.
    await redis.redis.set(m.keys.decisionsGeneration, '2');
    expect(await m.generations.request()).toBe(3);
    const g3 = new RedisDecisionsTarget(redis.redis, m.generations.keysOf(3));
    await g3.apply([alert(1, [[11, '192.0.2.1', now + HOUR]], now)], null, { transactionId: 1n, position: 1n });

    const housekeeping = new DecisionsHousekeeping(g2, m.generations, { retentionMs: DAY });
    expect((await housekeeping.run(now)).staleGenerations).toEqual([1]);
    const left = await redis.redis.keys(`${m.keys.decisions}*`);
    expect(left.length).toBeGreaterThan(0);
    expect(left.filter((k) => !k.startsWith(`${m.keys.decisions}g`))).toEqual([]);
    expect(await g2.seq()).toBe(1);
    expect(await g3.seq()).toBe(1);
    expect((await housekeeping.run(now + 2 * MIN)).staleGenerations).toEqual([]);
  });
});
