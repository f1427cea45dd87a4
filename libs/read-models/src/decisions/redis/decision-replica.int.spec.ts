import { receiveAlert, type EventMetadata } from '@lapi/domain';
import { PostgresEventStore, START } from '@lapi/event-store';
import { anAlert, openTestDatabase, openTestRedis } from '@lapi/testing';
import { LocalLease } from '../../coordination/lease';
import { Projector } from '../../coordination/projector';
import { redisKeys } from '../../coordination/redis-keys';
import type { DecisionFilter } from '../sql/decision-queries';
import { alertsProjection } from '../sql/decisions.projection';
import { DecisionGenerations } from './decision-generations';
import { DecisionReplica } from './decision-replica';
import { decisionKeys, RedisDecisionsTarget } from './redis-decisions.target';
import { RedisStreamCursors } from './redis-stream-cursors';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };
const ALL: DecisionFilter = { contains: true, includeSimulated: true };

// Replicas and bouncer cursors when Redis is emptied (here: every key of the test's prefix deleted, as FLUSHALL
// would) while the projector rebuilds the read model from the log.
describe('replicas and stream cursors across a Redis reset', () => {
  let dispose: () => Promise<void>;
  let store: PostgresEventStore;
  let redis: ReturnType<typeof openTestRedis>;
  let target: RedisDecisionsTarget;
  let projector: Projector;
  let nextId = 1;

  const ban = async (value: string) => {
    const alertId = nextId++;
    const id = nextId++;
    const event = receiveAlert(
      anAlert(),
      [{ duration: '1h', origin: 'cscli', scenario: 's', scope: 'Ip', type: 'ban', value }],
      'm',
      { alertId, alertUuid: `a${alertId}`, decisionIds: [id], decisionUuids: [`d${id}`] },
      new Date(),
    );
    await store.appendToStream(`alert-${alertId}`, [event], { expectedVersion: 'no_stream', metadata });
    return id;
  };
  const unban = async (id: number) => {
    await store.appendToStream(
      'decision-deletions',
      [{ type: 'DecisionsDeleted', data: { decisionIds: [id], at: new Date().toISOString() } }],
      { expectedVersion: 'any', metadata },
    );
  };
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
  const wipe = async () => {
    const keys = await redis.redis.keys(`${redis.prefix}*`);
    await redis.redis.del(...keys);
  };
  const values = (list: { value: string }[]) => list.map((d) => d.value).sort();
  const replica = () => new DecisionReplica(redis.redis, new DecisionGenerations(redis.redis, redisKeys(redis.prefix)));

  /** A bouncer polling through a replica, as clusterDecisionReader does. */
  const poll = async (r: DecisionReplica, cursors: RedisStreamCursors, bouncer: string, startup = false) => {
    const cursor = startup ? null : await cursors.load(bouncer);
    const { full, ...page } = await r.pull(ALL, true, cursor, Date.now());
    await cursors.save(bouncer, page.next, full);
    return { new: values(page.new), deleted: values(page.deleted), full };
  };

  beforeEach(async () => {
    const db = await openTestDatabase('postgres');
    dispose = db.dispose;
    store = new PostgresEventStore(db.handle.db, [alertsProjection]);
    redis = openTestRedis();
    target = new RedisDecisionsTarget(redis.redis, decisionKeys(`${redis.prefix}decisions:`));
    projector = new Projector(store, target, new LocalLease('test'), 3);
  });
  afterEach(async () => {
    await redis.close();
    await dispose();
  });

  it('keeps answering from its index while the log is rebuilt, then goes on without reloading', async () => {
    await ban('192.0.2.1');
    await ban('192.0.2.2');
    await project();
    const r = replica();
    expect(values(await r.find(ALL, Date.now()))).toEqual(['192.0.2.1', '192.0.2.2']);
    const seq = r.seq;

    await wipe();
    expect(values(await r.find(ALL, Date.now()))).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(r.seq).toBe(seq);

    await ban('192.0.2.3');
    await project();
    expect(values(await r.find(ALL, Date.now()))).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3']);
    expect(r.seq).toBe(seq + 1);
    expect(r.reloads).toBe(0);
  });

  it('reloads when the log at its seq is not the one it applied', async () => {
    await ban('192.0.2.1');
    await ban('192.0.2.2');
    await project();
    const r = replica();
    await r.sync();
    const entries = await redis.redis.xrange(target.keys.changes, '-', '+');

    // Another log of the same length, numbered differently: the second decision first, then a new one.
    await wipe();
    const forged = [entries[1][1][1], entries[0][1][1].replace('192.0.2.1', '192.0.2.9')];
    for (const [i, json] of forged.entries()) {
      await redis.redis.xadd(target.keys.changes, `${i + 1}-0`, 'r', json, 'h', `${i}`.repeat(40));
      const { id } = JSON.parse(json) as { id: number };
      await redis.redis.hset(target.keys.records, String(id), `${i + 1}:${i + 1}:${json}`);
    }
    await redis.redis.mset(target.keys.seq, '2', target.keys.hash, '1'.repeat(40));
    expect(values(await r.find(ALL, Date.now()))).toEqual(['192.0.2.2', '192.0.2.9']);
    expect(r.reloads).toBe(1);
  });

  it('gives every change to a bouncer exactly once, whichever replica answers, across a reset', async () => {
    const a = replica();
    const b = replica();
    const ca = new RedisStreamCursors(redis.redis, `${redis.prefix}cursors`, `${redis.prefix}lookups`);
    const cb = new RedisStreamCursors(redis.redis, `${redis.prefix}cursors`, `${redis.prefix}lookups`);
    const first = await ban('192.0.2.1');
    await project();
    expect(await poll(a, ca, 'fw', true)).toEqual({ new: ['192.0.2.1'], deleted: [], full: true });
    await ban('192.0.2.2');
    await project();
    expect(await poll(b, cb, 'fw')).toEqual({ new: ['192.0.2.2'], deleted: [], full: false });
    await ca.refresh(); // a mirrors the cursor b wrote

    await wipe();
    await ban('192.0.2.3');
    // Redis has no cursor and no log: a puts back the one it remembers and answers from its index.
    expect(await poll(a, ca, 'fw')).toEqual({ new: [], deleted: [], full: false });
    // A replica started now reads a partial log: the cursor is ahead of it, it says nothing and keeps it.
    const fresh = replica();
    await new Projector(store, target, new LocalLease('test'), 1).step();
    expect(await poll(fresh, cb, 'fw')).toEqual({ new: [], deleted: [], full: false });

    await project();
    await unban(first);
    await project();
    expect(await poll(b, cb, 'fw')).toEqual({ new: ['192.0.2.3'], deleted: ['192.0.2.1'], full: false });
    expect(await poll(a, ca, 'fw')).toEqual({ new: [], deleted: [], full: false });
    expect(await poll(fresh, cb, 'fw')).toEqual({ new: [], deleted: [], full: false });
    expect([a.reloads, b.reloads, fresh.reloads]).toEqual([0, 0, 0]);
  });

  it('puts back every cursor it mirrored when Redis lost them or holds an older one, never over a later one', async () => {
    await ban('192.0.2.1');
    await project();
    const r = replica();
    const mine = new RedisStreamCursors(redis.redis, `${redis.prefix}cursors`, `${redis.prefix}lookups`);
    const other = new RedisStreamCursors(redis.redis, `${redis.prefix}cursors`, `${redis.prefix}lookups`);
    await poll(r, other, 'x', true);
    await poll(r, other, 'y', true);
    expect(await mine.refresh()).toBe(0);
    const before = await redis.redis.hgetall(`${redis.prefix}cursors`);

    await redis.redis.del(`${redis.prefix}cursors`);
    // y: an older copy put back by another replica; z: one written since.
    await redis.redis.hset(`${redis.prefix}cursors`, 'y', '0:1', 'z', '0:1');
    expect(await mine.refresh()).toBe(2);
    expect(await redis.redis.hgetall(`${redis.prefix}cursors`)).toEqual({ x: before.x, y: before.y, z: '0:1' });
    const [seq, at] = before.x.split(':').map(Number);
    await redis.redis.hset(`${redis.prefix}cursors`, 'x', `${seq}:${at + 1}`);
    expect(await mine.refresh()).toBe(0);
    expect(await redis.redis.hget(`${redis.prefix}cursors`, 'x')).toBe(`${seq}:${at + 1}`);
  });

  it('answers a cursor from another log in full, and a later one never moves back', async () => {
    await ban('192.0.2.1');
    await project();
    const r = replica();
    const cursors = new RedisStreamCursors(redis.redis, `${redis.prefix}cursors`, `${redis.prefix}lookups`);
    await poll(r, cursors, 'fw', true);
    const key = `${redis.prefix}cursors`;
    const [seq] = (await redis.redis.hget(key, 'fw'))!.split(':');
    await redis.redis.hset(key, 'fw', `${seq}:1:${'e'.repeat(16)}`);
    // Read by a replica that does not remember a later position of fw.
    const other = new RedisStreamCursors(redis.redis, key, `${key}:lookups`);
    expect(await poll(r, other, 'fw')).toEqual({ new: ['192.0.2.1'], deleted: [], full: true });

    const now = await redis.redis.hget(key, 'fw');
    await cursors.save('fw', { seq: 0, pulledAt: 1 }, false);
    expect(await redis.redis.hget(key, 'fw')).toBe(now);
  });
});
