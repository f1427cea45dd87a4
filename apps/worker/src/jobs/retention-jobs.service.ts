import { DATABASE, RETENTION_POLICY, type RetentionDeps, type RetentionPolicy } from '@lapi/application';
import { autodeleteEnabled, flushEnabled } from '@lapi/domain';
import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { checkHandlers, JobName, jobNamesOf, QueueName, SCHEDULES, type JobHandlers } from '@lapi/jobs';
import { DecisionGenerations, RedisLease, RedisProjectionBarrier, type RedisKeys } from '@lapi/projections';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import type Redis from 'ioredis';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { REDIS, REDIS_KEYS, REDIS_PREFIX } from '../redis.tokens';
import { autodeleteClientsJob } from './autodelete-clients';
import { flushAlertsJob } from './flush-alerts';
import { ensureSchedules, SCHEDULE_CHECK_MS } from './job-schedules';

// A run renews its lease before every batch (seconds apart); a crashed runner's lease is free again after this.
const LEASE_TTL_MS = 60_000;

/**
 * The reference's db_config.flush in the cluster: BullMQ job schedulers tick every minute, and each run holds a
 * Redis lease so that two workers never run the same retention job at once. Only configured jobs are scheduled;
 * a scheduler left by an earlier configuration is removed.
 */
@Injectable()
export class RetentionJobsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RetentionJobsService.name);
  private queue: Queue | undefined;
  private worker: Worker | undefined;
  private scheduleCheck: NodeJS.Timeout | undefined;
  private readonly connections: Redis[] = [];

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    @Inject(REDIS_PREFIX) private readonly prefix: string,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(RETENTION_POLICY) private readonly policy: RetentionPolicy,
  ) {}

  async onModuleInit(): Promise<void> {
    const deps: RetentionDeps = {
      database: this.database,
      store: this.store,
      barrier: new RedisProjectionBarrier(
        this.redis,
        new DecisionGenerations(this.redis, this.keys),
        10_000,
        this.keys.projectorWake,
      ),
    };
    const owner = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    const lease = (job: string) => new RedisLease(this.redis, `${this.keys.retentionLease}${job}`, owner, LEASE_TTL_MS);
    const handlers: JobHandlers<typeof QueueName.Retention> = {
      [JobName.FlushAlerts]: () =>
        flushAlertsJob(lease(JobName.FlushAlerts), deps, this.policy.flush, new Date(), this.logger),
      [JobName.AutodeleteClients]: () =>
        autodeleteClientsJob(lease(JobName.AutodeleteClients), deps, this.policy.autodelete, new Date(), this.logger),
    };
    checkHandlers(handlers, jobNamesOf(QueueName.Retention));
    // BullMQ leaves connections it was given open on close: these are ours to end.
    const connection = () => {
      const c = this.redis.duplicate({ maxRetriesPerRequest: null });
      this.connections.push(c);
      return c;
    };
    this.queue = new Queue(QueueName.Retention, { connection: connection(), prefix: `${this.prefix}bull` });
    await syncRetentionSchedules(this.queue, this.policy);
    // Re-creates the schedulers Redis lost (emptied, restored from an old snapshot), as for the maintenance queue.
    this.scheduleCheck = setInterval(() => {
      void syncRetentionSchedules(this.queue!, this.policy).then(
        (created) => created.length > 0 && this.logger.warn(`re-created lost job schedulers: ${created.join(', ')}`),
        () => undefined, // Redis away: next check
      );
    }, SCHEDULE_CHECK_MS);
    this.worker = new Worker(
      QueueName.Retention,
      async (job) => {
        // A job of a kind this worker's configuration turned off (queued before a restart): nothing to do.
        if (!enabled(job.name, this.policy)) {
          return null;
        }
        return handlers[job.name as keyof typeof handlers](
          {},
          {
            id: job.id,
            attemptsMade: job.attemptsMade,
            createdAt: job.timestamp,
          },
        );
      },
      { connection: connection(), prefix: `${this.prefix}bull` },
    );
    this.worker.on('failed', (job, error) => this.logger.warn(`job ${job?.name ?? '?'} failed: ${error.message}`));
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.scheduleCheck);
    await this.worker?.close();
    await this.queue?.close();
    this.connections.forEach((c) => c.disconnect());
  }
}

const enabled = (name: string, policy: RetentionPolicy): boolean =>
  name === JobName.FlushAlerts
    ? flushEnabled(policy.flush)
    : name === JobName.AutodeleteClients && autodeleteEnabled(policy.autodelete);

/**
 * Creates the missing schedulers of configured retention jobs (returns them) and removes those of unconfigured ones.
 */
export async function syncRetentionSchedules(queue: Queue, policy: RetentionPolicy): Promise<string[]> {
  for (const s of SCHEDULES.filter((x) => x.queue === QueueName.Retention && !enabled(x.name, policy))) {
    if (await queue.getJobScheduler(s.name)) {
      await queue.removeJobScheduler(s.name);
    }
  }
  return ensureSchedules(queue, (name) => enabled(name, policy));
}
