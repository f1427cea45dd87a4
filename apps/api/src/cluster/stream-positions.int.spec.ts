import type { DecisionReader, StreamAnswer } from '@lapi/application';
import { receiveAlert, type EventMetadata } from '@lapi/domain';
import { PostgresEventStore, START } from '@lapi/event-store';
import {
  alertsProjection,
  DecisionGenerations,
  decisionKeys,
  DecisionReplica,
  LocalLease,
  LookupTimes,
  Projector,
  RedisDecisionsTarget,
  redisKeys,
  RedisStreamCursors,
  type DecisionFilter,
} from '@lapi/read-models';
import { anAlert, openTestDatabase, openTestRedis } from '@lapi/testing';
import type Redis from 'ioredis';
import { clusterDecisionReader } from './cluster-decision-reader';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };
const ALL: DecisionFilter = { contains: true, includeSimulated: true };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// One bouncer's stream positions across API replicas (each a DecisionReplica, its RedisStreamCursors and the reader
// the API wires), over one database and one Redis: the orderings that made a bouncer get a change twice.
describe('stream positions across replicas', () => {
  let dispose: () => Promise<void>;
  let store: PostgresEventStore;
  let redis: ReturnType<typeof openTestRedis>;
  let target: RedisDecisionsTarget;
  let projector: Projector;
  const subscribers: Redis[] = [];
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
    await project();
    return id;
  };
  const project = async () => {
    for (let i = 0; i < 500; i++) {
      await projector.catchUp();
      if ((await store.countAfter((await target.checkpoint()) ?? START)) === 0) {
        return;
      }
      await sleep(10);
    }
    throw new Error('the projection did not catch up');
  };

  const unban = async (id: number) => {
    await store.appendToStream(
      'decision-deletions',
      [{ type: 'DecisionsDeleted', data: { decisionIds: [id], at: new Date().toISOString() } }],
      { expectedVersion: 'any', metadata },
    );
    await project();
  };

  /** An API replica: its index, its cursors (listening to the others' saves when `listening`) and its reader. */
  const replica = async (listening = true, connection = redis.redis) => {
    const cursors = new RedisStreamCursors(
      connection,
      redisKeys(redis.prefix).streamCursors,
      redisKeys(redis.prefix).bouncerLookups,
    );
    if (listening) {
      const subscriber = redis.redis.duplicate();
      subscribers.push(subscriber);
      await cursors.listen(subscriber);
    }
    const index = new DecisionReplica(connection, new DecisionGenerations(connection, redisKeys(redis.prefix)));
    return { cursors, reader: clusterDecisionReader(index, cursors, new LookupTimes(cursors.writeLookups)) };
  };
  const pull = (reader: DecisionReader, startup = false) =>
    reader.pull('fw', ALL, { startup, dedup: true }, () => new Date());
  const values = (a: StreamAnswer) => ({
    new: a.new.map((d) => d.value).sort(),
    deleted: a.deleted.map((d) => d.value).sort(),
  });
  /** A pull whose answer reached the bouncer. */
  const delivered = async (reader: DecisionReader, startup = false) => {
    const answer = await pull(reader, startup);
    await answer.commit();
    return values(answer);
  };
  const settled = async (p: Promise<unknown>) => Promise.race([p.then(() => true), sleep(150).then(() => false)]);

  beforeEach(async () => {
    const db = await openTestDatabase('postgres');
    dispose = db.dispose;
    store = new PostgresEventStore(db.handle.db, [alertsProjection]);
    redis = openTestRedis();
    target = new RedisDecisionsTarget(redis.redis, decisionKeys(redisKeys(redis.prefix).decisions));
    projector = new Projector(store, target, new LocalLease('test'), 3);
  });
  afterEach(async () => {
    subscribers.splice(0).forEach((s) => s.disconnect());
    await redis.close();
    await dispose();
  });

  it("waits for the previous pull's answer to be committed on another replica, then goes on after it", async () => {
    const a = await replica();
    const b = await replica();
    await ban('192.0.2.1');
    expect(await delivered(a.reader, true)).toEqual({ new: ['192.0.2.1'], deleted: [] });
    await ban('192.0.2.2');

    // a answered, but is slow to save the position (busy event loop): the bouncer already polls b.
    const slow = await pull(a.reader);
    expect(values(slow)).toEqual({ new: ['192.0.2.2'], deleted: [] });
    const next = pull(b.reader);
    expect(await settled(next)).toBe(false);
    await ban('192.0.2.3');
    await slow.commit();
    const answer = await next;
    await answer.commit();
    expect(values(answer)).toEqual({ new: ['192.0.2.3'], deleted: [] });
  });

  it('judges the changes a pull reads at a time after them: a decision deleted while it waited is not new again', async () => {
    const a = await replica();
    const b = await replica();
    const long = await ban('192.0.2.1');
    expect(await delivered(a.reader, true)).toEqual({ new: ['192.0.2.1'], deleted: [] });
    await ban('192.0.2.2');

    const slow = await pull(a.reader);
    const next = pull(b.reader); // waits for a's commit
    await sleep(50);
    await unban(long); // at a time after b's pull began
    await slow.commit();
    const answer = await next;
    await answer.commit();
    expect(values(answer)).toEqual({ new: [], deleted: ['192.0.2.1'] });
  });

  it('repeats an answer that did not reach the bouncer, on any replica', async () => {
    const a = await replica();
    const b = await replica();
    await ban('192.0.2.1');
    await delivered(a.reader, true);
    await ban('192.0.2.2');

    const lost = await pull(a.reader);
    await lost.release();
    expect(await delivered(b.reader)).toEqual({ new: ['192.0.2.2'], deleted: [] });
    expect(await delivered(a.reader)).toEqual({ new: [], deleted: [] });
  });

  it('goes on at once after a replica that died holding the pull (its connection to Redis is gone)', async () => {
    const own = redis.redis.duplicate();
    subscribers.push(own);
    const a = await replica(true, own);
    const b = await replica();
    await ban('192.0.2.1');
    await delivered(a.reader, true);
    await ban('192.0.2.2');

    await pull(a.reader); // a is killed before handing the answer to the network: neither commit nor release
    own.disconnect();
    const started = Date.now();
    expect(await delivered(b.reader)).toEqual({ new: ['192.0.2.2'], deleted: [] });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('waits for a stuck holder until its lock expires, then goes on from the position saved before', async () => {
    const a = await replica();
    const b = await replica();
    await ban('192.0.2.1');
    await delivered(a.reader, true);
    await ban('192.0.2.2');

    await pull(a.reader); // a's answer never leaves (its connection to Redis stays up)
    const started = Date.now();
    expect(await delivered(b.reader)).toEqual({ new: ['192.0.2.2'], deleted: [] });
    expect(Date.now() - started).toBeGreaterThan(4_000);
  }, 20_000);

  it("puts back, after Redis lost the positions, the latest one any replica saved, over another's older copy", async () => {
    const a = await replica();
    const b = await replica();
    // c: a replica that only mirrored the position a second ago (not listening, as one started later).
    const c = await replica(false);
    const key = redisKeys(redis.prefix).streamCursors;
    await ban('192.0.2.1');
    await delivered(a.reader, true);
    await c.cursors.refresh();
    await ban('192.0.2.2');
    expect(await delivered(a.reader)).toEqual({ new: ['192.0.2.2'], deleted: [] });
    await sleep(100); // b hears of a's save

    await redis.redis.del(key); // FLUSHALL, for the positions
    expect(await c.cursors.refresh()).toBe(1); // c puts back its older copy first
    // b serves the next pull: it takes the later position it heard of, not c's copy.
    expect(await delivered(b.reader)).toEqual({ new: [], deleted: [] });

    await redis.redis.del(key);
    expect(await c.cursors.refresh()).toBe(1);
    expect(await a.cursors.refresh()).toBe(1); // a's later one replaces c's
    expect(await delivered(c.reader)).toEqual({ new: [], deleted: [] });
  });

  it('never loses nor repeats a change while polls of one bouncer, most with nothing new, race on two replicas', async () => {
    const a = await replica();
    const b = await replica();
    const told = { new: [] as string[], deleted: [] as string[] };
    const tell = (answer: { new: string[]; deleted: string[] }) => {
      told.new.push(...answer.new);
      told.deleted.push(...answer.deleted);
    };
    tell(await delivered(a.reader, true));
    const banned: string[] = [];
    const unbanned: string[] = [];
    let writing = true;
    const writes = (async () => {
      for (let i = 1; i <= 13; i++) {
        const value = `198.51.100.${i}`;
        const id = await ban(value);
        banned.push(value);
        if (i % 3 === 0) {
          await unban(id);
          unbanned.push(value);
        }
        await sleep(15); // polls in between find nothing new
      }
      writing = false;
    })();
    // The bouncer polls both replicas at once (a retry, a load balancer): overlapping pulls of one position.
    while (writing) {
      (await Promise.all([delivered(a.reader), delivered(b.reader)])).forEach(tell);
    }
    await writes;
    (await Promise.all([delivered(a.reader), delivered(b.reader)])).forEach(tell);
    tell(await delivered(b.reader));
    // Every deletion once; every ban once, but one unbanned before a poll told of it (only in `deleted` then).
    expect([...told.deleted].sort()).toEqual([...unbanned].sort());
    expect(new Set(told.new).size).toBe(told.new.length);
    expect(told.new.filter((v) => !banned.includes(v))).toEqual([]);
    expect(banned.filter((v) => !unbanned.includes(v) && !told.new.includes(v))).toEqual([]);
  });
});
