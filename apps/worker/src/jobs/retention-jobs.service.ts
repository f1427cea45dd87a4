import {
  CREDENTIAL_CHANGES,
  DATABASE,
  RETENTION_POLICY,
  type CredentialChanges,
  type RetentionDeps,
  type RetentionPolicy,
} from '@lapi/application';
import { autodeleteEnabled, flushEnabled } from '@lapi/domain';
import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { JobName, QueueName, SCHEDULES, type JobHandlers } from '@lapi/jobs';
import {
  BARRIER_TIMEOUT_MS,
  DecisionGenerations,
  LEASE_TTL_MS,
  RedisLease,
  RedisProjectionBarrier,
  RedisStreamCursors,
  type RedisKeys,
} from '@lapi/read-models';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { DECISION_GENERATIONS, REDIS, REDIS_KEYS, REDIS_PREFIX } from '../redis.tokens';
import { WORKER_ID } from '../worker-id';
import { autodeleteClientsJob } from './autodelete-clients';
import { flushAlertsJob } from './flush-alerts';
import { ensureSchedules, SCHEDULE_CHECK_MS } from './job-schedules';
import { QueueRuntime } from './queue-runtime';

// A run renews its lease before every batch (seconds apart); a crashed runner's lease is free again after this.

/**
 * The reference's db_config.flush in the cluster: BullMQ job schedulers tick every minute, and each run holds a
 * Redis lease so that two workers never run the same retention job at once. Only configured jobs are scheduled;
 * a scheduler left by an earlier configuration is removed.
 */
@Injectable()
export class RetentionJobsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(RetentionJobsService.name);
  private runtime: QueueRuntime | undefined;
  private scheduleCheck: NodeJS.Timeout | undefined;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    @Inject(REDIS_PREFIX) private readonly prefix: string,
    @Inject(DECISION_GENERATIONS) private readonly generations: DecisionGenerations,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(RETENTION_POLICY) private readonly policy: RetentionPolicy,
    @Inject(CREDENTIAL_CHANGES) private readonly credentials: CredentialChanges,
  ) {}

  async onModuleInit(): Promise<void> {
    const deps: RetentionDeps = {
      database: this.database,
      store: this.store,
      barrier: new RedisProjectionBarrier(
        this.redis,
        this.generations,
        BARRIER_TIMEOUT_MS.job,
        this.keys.projectorWake,
      ),
      credentials: this.credentials,
      // Bouncers' last pulls: their processes' stream positions and lookup times, which the API replicas keep in Redis.
      pullTimes: (keys) =>
        new RedisStreamCursors(this.redis, this.keys.streamCursors, this.keys.bouncerLookups).pulledAt(keys),
    };
    const lease = (job: string) =>
      new RedisLease(this.redis, `${this.keys.retentionLease}${job}`, WORKER_ID, LEASE_TTL_MS.retention);
    const handlers: JobHandlers<typeof QueueName.Retention> = {
      [JobName.FlushAlerts]: () =>
        flushAlertsJob(lease(JobName.FlushAlerts), deps, this.policy.flush, new Date(), this.logger),
      [JobName.AutodeleteClients]: () =>
        autodeleteClientsJob(lease(JobName.AutodeleteClients), deps, this.policy.autodelete, new Date(), this.logger),
    };
    this.runtime = QueueRuntime.start(this.redis, this.prefix, QueueName.Retention, handlers, this.logger, {
      // A job of a kind this worker's configuration turned off (queued before a restart): nothing to do.
      skip: (name) => !enabled(name, this.policy),
    });
    const queue = this.runtime.queue;
    await syncRetentionSchedules(queue, this.policy);
    // Re-creates the schedulers Redis lost (emptied, restored from an old snapshot), as for the maintenance queue.
    this.scheduleCheck = setInterval(() => {
      void syncRetentionSchedules(queue, this.policy).then(
        (created) => created.length > 0 && this.logger.warn(`re-created lost job schedulers: ${created.join(', ')}`),
        () => undefined, // Redis away: next check
      );
    }, SCHEDULE_CHECK_MS);
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.scheduleCheck);
    await this.runtime?.close();
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
