import { receiveAlert, type EventMetadata } from '@lapi/domain';
import { PostgresEventStore, START, type DatabaseHandle } from '@lapi/event-store';
import { anAlert, openTestDatabase, openTestRedis } from '@lapi/testing';
import { LocalLease } from '../../coordination/lease';
import { Projector } from '../../coordination/projector';
import { alertsProjection } from '../sql/decisions.projection';
import { decisionKeys, RedisDecisionsTarget } from './redis-decisions.target';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };

describe('the decisions read model in Redis', () => {
  let handle: DatabaseHandle;
  let dispose: () => Promise<void>;
  let store: PostgresEventStore;
  let redis: ReturnType<typeof openTestRedis>;
  let target: RedisDecisionsTarget;
  let projector: Projector;
  let nextId = 1;

  const pushAlert = async (values: string[], duration = '1h') => {
    const alertId = nextId++;
    const ids = values.map(() => nextId++);
    const event = receiveAlert(
      anAlert(),
      values.map((value) => ({ duration, origin: 'cscli', scenario: 's', scope: 'Ip', type: 'ban', value })),
      'm',
      { alertId, alertUuid: `a${alertId}`, decisionIds: ids, decisionUuids: ids.map((i) => `d${i}`) },
      new Date(),
    );
    await store.appendToStream(`alert-${alertId}`, [event], { expectedVersion: 'no_stream', metadata });
    return { alertId, ids };
  };

  /** Other tests' transactions can hold the safe read back for a moment: step until nothing is left behind. */
  const project = async () => {
    for (let i = 0; i < 500; i++) {
      await projector.catchUp();
      if ((await store.countAfter((await target.checkpoint()) ?? START)) === 0) {
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('the projection did not catch up');
  };

  /** The Redis records must say what the Postgres read model says. */
  const expectSameAsPostgres = async () => {
    const rows = await handle.db.selectFrom('decisions').select(['id', 'until', 'removed']).orderBy('id').execute();
    const records = (await target.records()).sort((a, b) => a.id - b.id);
    expect(records.map((r) => [r.id, r.until, r.removed])).toEqual(
      rows.map((r) => [Number(r.id), new Date(r.until).getTime(), r.removed]),
    );
  };

  beforeAll(async () => {
    const db = await openTestDatabase('postgres');
    handle = db.handle;
    dispose = db.dispose;
    store = new PostgresEventStore(handle.db, [alertsProjection]);
    redis = openTestRedis();
    target = new RedisDecisionsTarget(redis.redis, decisionKeys(`${redis.prefix}decisions:`));
    projector = new Projector(store, target, new LocalLease('test'), 2);
  });
  afterAll(async () => {
    await redis.close();
    await dispose();
  });

  it('follows alerts, deletions of decisions and deletions of alerts, with one change per record change', async () => {
    const a = await pushAlert(['192.0.2.1', '192.0.2.2']);
    const b = await pushAlert(['192.0.2.3']);
    await pushAlert(['10.0.0.0/8'], '-1h');
    const at = new Date().toISOString();
    await store.appendToStream(
      'decision-deletions',
      [{ type: 'DecisionsDeleted', data: { decisionIds: [a.ids[0]], at } }],
      {
        expectedVersion: 'any',
        metadata,
      },
    );
    await store.appendToStream('alert-deletions', [{ type: 'AlertsDeleted', data: { alertIds: [b.alertId], at } }], {
      expectedVersion: 'any',
      metadata,
    });
    await project();
    await expectSameAsPostgres();
    // 4 puts, 1 expiry, 1 removal
    expect(await target.seq()).toBe(6);
    const changes = await target.changesAfter(4, 100);
    expect(changes.map((c) => [c.seq, c.record.id, c.record.removed])).toEqual([
      [5, a.ids[0], false],
      [6, b.ids[0], true],
    ]);
  });

  it('adds no change when an alert is deleted whose decisions had already ended, nor when deleted twice', async () => {
    const a = await pushAlert(['203.0.113.1', '203.0.113.2', '203.0.113.3']);
    const expired = await pushAlert(['203.0.113.4'], '-1h');
    const at = new Date().toISOString();
    const deleteAlerts = () =>
      store.appendToStream(
        'alert-deletions',
        [{ type: 'AlertsDeleted', data: { alertIds: [a.alertId, expired.alertId], at } }],
        { expectedVersion: 'any', metadata },
      );
    await store.appendToStream(
      'decision-deletions',
      [{ type: 'DecisionsDeleted', data: { decisionIds: [a.ids[0]], at } }],
      {
        expectedVersion: 'any',
        metadata,
      },
    );
    await project();
    const before = await target.seq();

    await deleteAlerts();
    await project();
    const changes = await target.changesAfter(before, 100);
    expect(changes.map((c) => [c.seq, c.record.id, c.record.removed])).toEqual([
      [before + 1, a.ids[1], true],
      [before + 2, a.ids[2], true],
    ]);
    await expectSameAsPostgres();

    await deleteAlerts();
    await project();
    expect(await target.seq()).toBe(before + 2);
    await expectSameAsPostgres();
  });

  it('never applies a batch twice, and rebuilds from the log when Redis lost everything', async () => {
    const before = await target.checkpoint();
    await pushAlert(['192.0.2.9']);
    const page = await store.readAll(before!, 100);
    expect(await target.apply(page.events, before, page.checkpoint)).toBe(true);
    expect(await target.apply(page.events, before, page.checkpoint)).toBe(false);
    await expectSameAsPostgres();

    const keys = await redis.redis.keys(`${redis.prefix}*`);
    await redis.redis.del(...keys);
    expect(await target.checkpoint()).toBeNull();
    await project();
    await expectSameAsPostgres();
  });

  it('numbers a rebuild exactly as the first build: same change ids, records and hash chain', async () => {
    // Churn of every kind, with alerts of several decisions deleted whole (their members come from a Redis set).
    const many = await pushAlert(['198.51.100.1', '198.51.100.2', '198.51.100.3', '198.51.100.4', '198.51.100.5']);
    const other = await pushAlert(['198.51.100.6', '198.51.100.7']);
    await pushAlert(['198.51.100.8'], '-1h');
    const at = new Date().toISOString();
    await store.appendToStream(
      'decision-deletions',
      [{ type: 'DecisionsDeleted', data: { decisionIds: [many.ids[2], other.ids[0]], at } }],
      { expectedVersion: 'any', metadata },
    );
    await store.appendToStream(
      'alert-deletions',
      [{ type: 'AlertsDeleted', data: { alertIds: [other.alertId, many.alertId], at } }],
      { expectedVersion: 'any', metadata },
    );
    await project();
    const log = async () => {
      const entries = await redis.redis.xrange(target.keys.changes, '-', '+');
      const [seq, hash] = await redis.redis.mget(target.keys.seq, target.keys.hash);
      return { entries, seq, hash, records: (await target.records()).sort((a, b) => a.id - b.id) };
    };
    const first = await log();
    expect(first.entries.length).toBeGreaterThan(15);
    expect(first.entries.every(([, fields]) => fields[2] === 'h' && /^[0-9a-f]{40}$/.test(fields[3]))).toBe(true);

    const keys = await redis.redis.keys(`${redis.prefix}*`);
    await redis.redis.del(...keys);
    await project();
    expect(await log()).toEqual(first);
  });

  it('offers no expiry to sweep while it is built from the start, whose log may record them later', async () => {
    expect((await target.dueExpiries(Date.now(), 100)).length).toBeGreaterThan(0);
    const due = await target.dueExpiries(Date.now(), 100);
    await redis.redis.del(...(await redis.redis.keys(`${redis.prefix}*`)));
    await new Projector(store, target, new LocalLease('test'), 1).step();
    expect(await target.dueExpiries(Date.now(), 100)).toEqual([]);
    await project();
    expect(await target.dueExpiries(Date.now(), 100)).toEqual(due);
  });
});
