import { receiveAlert, type EventMetadata } from '@lapi/domain';
import { PostgresEventStore, START } from '@lapi/event-store';
import {
  alertsProjection,
  decisionKeys,
  LocalLease,
  Projector,
  RedisDecisionsTarget,
  RedisProjectionBarrier,
} from '@lapi/read-models';
import { anAlert, openTestDatabase, openTestRedis } from '@lapi/testing';
import { expireDecisions } from './expire-decisions';

const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };

describe('the expiry sweep', () => {
  it('records each expired decision once in the log, and nothing for active or deleted ones', async () => {
    const db = await openTestDatabase('postgres');
    const redis = openTestRedis();
    const store = new PostgresEventStore(db.handle.db, [alertsProjection]);
    const keys = decisionKeys(`${redis.prefix}decisions:`);
    const target = new RedisDecisionsTarget(redis.redis, keys);
    const projector = new Projector(store, target, new LocalLease('t'));
    let running = true;
    const loop = (async () => {
      while (running) {
        if ((await projector.step()).applied === 0) {
          await new Promise((r) => setTimeout(r, 5));
        }
      }
    })();
    try {
      const push = async (id: number, duration: string) => {
        const event = receiveAlert(
          anAlert(),
          [{ duration, origin: 'cscli', scenario: 's', scope: 'Ip', type: 'ban', value: `192.0.2.${id}` }],
          'm',
          { alertId: id, alertUuid: `a${id}`, decisionIds: [id], decisionUuids: [`d${id}`] },
          new Date(),
        );
        await store.appendToStream(`alert-${id}`, [event], { expectedVersion: 'no_stream', metadata });
      };
      await push(1, '-1h'); // expired
      await push(2, '1h'); // active
      await push(3, '-2h'); // expired
      await push(4, '-1m'); // expired, but deleted first
      await store.appendToStream(
        'decision-deletions',
        [{ type: 'DecisionsDeleted', data: { decisionIds: [4], at: new Date().toISOString() } }],
        {
          expectedVersion: 'any',
          metadata,
        },
      );
      const barrier = new RedisProjectionBarrier(redis.redis, keys.checkpoint, 5_000);
      // Let the running loop project everything pushed so far (other tests' transactions may delay it).
      for (let i = 0; i < 500 && (await store.countAfter((await target.checkpoint()) ?? START)) > 0; i++) {
        await new Promise((r) => setTimeout(r, 10));
      }

      // A sweeper that lost its lease writes nothing (the ids below would appear twice otherwise).
      expect(await expireDecisions(target, store, barrier, new Date(), () => Promise.resolve(false))).toBe(0);
      expect(await expireDecisions(target, store, barrier, new Date())).toBe(2);
      expect(await expireDecisions(target, store, barrier, new Date())).toBe(0);
      const recorded = await db.handle.db
        .selectFrom('events')
        .select('data')
        .where('type', '=', 'DecisionsExpired')
        .execute();
      const ids = recorded
        .flatMap(
          (r) =>
            (typeof r.data === 'string'
              ? (JSON.parse(r.data) as { decisionIds: number[] })
              : (r.data as { decisionIds: number[] })
            ).decisionIds,
        )
        .sort();
      expect(ids).toEqual([1, 3]);
      expect(await target.dueExpiries(Date.now() + 2 * 3600_000, 10)).toEqual([2]);
    } finally {
      running = false;
      await loop;
      await redis.close();
      await db.dispose();
    }
  });
});
