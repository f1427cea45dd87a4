import {
  ApplicationModule,
  inlineProjections,
  LocalCredentialChanges,
  RETENTION_POLICY,
  type RetentionPolicy,
} from '@lapi/application';
import { receiveAlert, type DomainEvent, type EventMetadata } from '@lapi/domain';
import { PostgresEventStore, type DatabaseHandle } from '@lapi/event-store';
import { JobName, QueueName } from '@lapi/jobs';
import {
  DecisionGenerations,
  decisionKeys,
  RedisDecisionsTarget,
  redisKeys,
  RedisLease,
  RedisProjectionBarrier,
} from '@lapi/read-models';
import { anAlert, openTestDatabase, openTestRedis } from '@lapi/testing';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Queue } from 'bullmq';
import { DecisionsProjectionService } from '../projections/decisions-projection.service';
import { DECISION_GENERATIONS, PROJECTION_RETENTION_MS, REDIS, REDIS_KEYS, REDIS_PREFIX } from '../redis.tokens';
import { flushAlertsJob } from './flush-alerts';
import { RetentionJobsService, syncRetentionSchedules } from './retention-jobs.service';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const metadata: EventMetadata = { actor: { kind: 'cli', id: 'test' }, at: new Date().toISOString() };
const quiet = { log: () => undefined, debug: () => undefined };

const alertEvent = (id: number, age: number, durations: string[] = []) => {
  const createdAt = new Date(Date.now() - age);
  return receiveAlert(
    anAlert({ stopAt: createdAt.toISOString() }),
    durations.map((duration, i) => ({
      duration,
      origin: 'cscli',
      scenario: 's',
      scope: 'Ip',
      type: 'ban',
      value: `198.51.100.${(id * 10 + i) % 250}`,
    })),
    'agent',
    {
      alertId: id,
      alertUuid: `a${id}`,
      decisionIds: durations.map((_, i) => id * 10 + i),
      decisionUuids: durations.map((_, i) => `d${id}-${i}`),
    },
    createdAt,
  );
};

/**
 * The worker's retention and decisions projection, wired as WorkerModule wires them, over a scratch database and a
 * Redis prefix of their own. (Not the whole WorkerModule: its other services leave Redis connections open.)
 */
async function startWorker(retention: RetentionPolicy) {
  const db = await openTestDatabase('postgres');
  const redis = openTestRedis();
  @Module({
    imports: [ApplicationModule.register({ database: db.handle })],
    providers: [
      { provide: REDIS, useValue: redis.redis },
      { provide: REDIS_KEYS, useValue: redisKeys(redis.prefix) },
      { provide: REDIS_PREFIX, useValue: redis.prefix },
      { provide: DECISION_GENERATIONS, useValue: new DecisionGenerations(redis.redis, redisKeys(redis.prefix)) },
      { provide: RETENTION_POLICY, useValue: retention },
      // Longer than the ages below: compaction keeps out of these tests.
      { provide: PROJECTION_RETENTION_MS, useValue: 30 * DAY },
      DecisionsProjectionService,
      RetentionJobsService,
    ],
  })
  class RetentionWorkerModule {}
  const app = await NestFactory.createApplicationContext(RetentionWorkerModule, { logger: false });
  const store = new PostgresEventStore(db.handle.db, inlineProjections);
  const decisions = decisionKeys(redisKeys(redis.prefix).decisions);
  return {
    db: db.handle,
    redis,
    store,
    target: new RedisDecisionsTarget(redis.redis, decisions),
    barrier: new RedisProjectionBarrier(redis.redis, decisions.checkpoint, 10_000),
    push: (...events: ReturnType<typeof alertEvent>[]) =>
      store.appendToStreams(
        events.map((e) => ({
          streamId: `alert-${e.data.alertId}`,
          events: [e],
          expectedVersion: 'no_stream' as const,
        })),
        { metadata },
      ),
    close: async () => {
      await app.close();
      await redis.close();
      await db.dispose();
    },
  };
}

const alertIds = async (db: DatabaseHandle) =>
  (await db.db.selectFrom('alerts').select('id').orderBy('id').execute()).map((r) => Number(r.id));

const until = async (check: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 300; i++) {
    if (await check()) {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('retention jobs in the worker', () => {
  it('flush alerts and delete silent machines when queued, and bouncers read the deletions from Redis', async () => {
    const w = await startWorker({
      flush: { maxAgeMs: 7 * DAY },
      autodelete: { machines: { password: DAY }, bouncers: {} },
    });
    const connection = w.redis.redis.duplicate({ maxRetriesPerRequest: null });
    const queue = new Queue(QueueName.Retention, { connection, prefix: `${w.redis.prefix}bull` });
    try {
      await w.push(alertEvent(1, 8 * DAY, ['1h']), alertEvent(2, 8 * DAY, ['216h']), alertEvent(3, HOUR, ['4h']));
      const silent: DomainEvent[] = [
        {
          type: 'MachineRegistered',
          data: {
            machineId: 'gone',
            passwordHash: 'x',
            ipAddress: '10.1.1.1',
            authType: 'password',
            validated: true,
            at: metadata.at,
          },
        },
        {
          type: 'MachineHeartbeatRecorded',
          data: { machineId: 'gone', at: new Date(Date.now() - 2 * DAY).toISOString() },
        },
      ];
      await w.store.appendToStream('machine-gone', silent, { expectedVersion: 'no_stream', metadata });

      await queue.add(JobName.FlushAlerts, {});
      await queue.add(JobName.AutodeleteClients, {});
      await until(async () => (await alertIds(w.db)).length === 2, 'the flush');
      await until(
        async () => (await w.db.db.selectFrom('machines').select('machine_id').execute()).length === 0,
        'the autodelete',
      );

      expect(await alertIds(w.db)).toEqual([2, 3]);
      // The job waited for the projection: Redis already stands past the deletion. (The flushed alert's decision
      // had ended long before: the deletion announces nothing.)
      const deletion = await w.db.db
        .selectFrom('events')
        .select(['transaction_id', 'global_position'])
        .where('type', '=', 'AlertsDeleted')
        .executeTakeFirstOrThrow();
      const projected = (await w.target.checkpoint())!;
      expect(
        projected.transactionId > BigInt(deletion.transaction_id) ||
          (projected.transactionId === BigInt(deletion.transaction_id) &&
            projected.position >= BigInt(deletion.global_position)),
      ).toBe(true);
      const records = new Map((await w.target.records()).map((r) => [r.id, r]));
      expect(records.get(10)?.removed).toBe(false);
      expect(records.get(20)?.removed).toBe(false);
      expect(records.get(30)?.removed).toBe(false);
      // Both jobs are configured: both are scheduled.
      expect(await queue.getJobScheduler(JobName.FlushAlerts)).toMatchObject({ every: 60_000 });
      expect(await queue.getJobScheduler(JobName.AutodeleteClients)).toMatchObject({ every: 60_000 });
    } finally {
      await queue.close();
      connection.disconnect();
      await w.close();
    }
  });

  it('never lets two runs delete at once: the second finds the lease taken', async () => {
    const w = await startWorker({ flush: {}, autodelete: { machines: {}, bouncers: {} } });
    try {
      const count = 2_500;
      for (let i = 0; i < count; i += 500) {
        await w.push(...Array.from({ length: 500 }, (_, j) => alertEvent(i + j + 1, HOUR)));
      }
      const key = `${redisKeys(w.redis.prefix).retentionLease}${JobName.FlushAlerts}`;
      const deps = { database: w.db, store: w.store, barrier: w.barrier, credentials: new LocalCredentialChanges() };
      const run = (owner: string) =>
        flushAlertsJob(new RedisLease(w.redis.redis, key, owner, 60_000), deps, { maxItems: 1 }, new Date(), quiet);

      const results = await Promise.all([run('worker-a'), run('worker-b')]);

      const deleted = (
        await w.db.db.selectFrom('events').select('data').where('type', '=', 'AlertsDeleted').execute()
      ).flatMap((r) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data).alertIds as number[]);
      expect(deleted.length).toBe(count - 1);
      expect(new Set(deleted).size).toBe(count - 1);
      // One run did the work; the other either found the lease taken or came after and found nothing left.
      expect(results.map((r) => r?.byCount ?? 0).sort((a, b) => a - b)).toEqual([0, count - 1]);
      expect(await alertIds(w.db)).toEqual([count]);
      expect(await w.redis.redis.get(key)).toBeNull(); // released

      // While another worker holds the lease, a run does nothing.
      await w.push(alertEvent(count + 1, 0));
      await new RedisLease(w.redis.redis, key, 'worker-c', 60_000).acquire();
      expect(await run('worker-a')).toBeNull();
      expect(await alertIds(w.db)).toEqual([count, count + 1]);
    } finally {
      await w.close();
    }
  });

  it('schedules only the configured jobs, removes the schedulers of jobs no longer configured, re-creates lost ones', async () => {
    const redis = openTestRedis();
    const connection = redis.redis.duplicate({ maxRetriesPerRequest: null });
    const queue = new Queue(QueueName.Retention, { connection, prefix: `${redis.prefix}bull` });
    try {
      await syncRetentionSchedules(queue, { flush: { maxItems: 10 }, autodelete: { machines: {}, bouncers: {} } });
      expect(await queue.getJobScheduler(JobName.FlushAlerts)).toMatchObject({ every: 60_000 });
      expect(await queue.getJobScheduler(JobName.AutodeleteClients)).toBeUndefined();

      const autodelete = { flush: {}, autodelete: { machines: {}, bouncers: { apiKey: DAY } } };
      expect(await syncRetentionSchedules(queue, autodelete)).toEqual([JobName.AutodeleteClients]);
      expect(await queue.getJobScheduler(JobName.FlushAlerts)).toBeUndefined();
      expect(await queue.getJobScheduler(JobName.AutodeleteClients)).toMatchObject({ every: 60_000 });
      // Checked again (as the worker does every 10 s): an existing scheduler keeps its next run...
      const next = (await queue.getJobScheduler(JobName.AutodeleteClients))?.next;
      expect(await syncRetentionSchedules(queue, autodelete)).toEqual([]);
      expect((await queue.getJobScheduler(JobName.AutodeleteClients))?.next).toBe(next);
      // ...and one Redis lost (FLUSHALL) is created again.
      await redis.redis.del(...(await redis.redis.keys(`${redis.prefix}bull*`)));
      expect(await queue.getJobScheduler(JobName.AutodeleteClients)).toBeUndefined();
      expect(await syncRetentionSchedules(queue, autodelete)).toEqual([JobName.AutodeleteClients]);
      expect(await queue.getJobScheduler(JobName.AutodeleteClients)).toMatchObject({ every: 60_000 });
    } finally {
      await queue.close();
      connection.disconnect();
      await redis.close();
    }
  });
});
