import { EVENT_STORE, type EventStore } from '@lapi/event-store';
import { JobName, QueueName, type JobHandlers } from '@lapi/jobs';
import {
  BARRIER_TIMEOUT_MS,
  DecisionGenerations,
  LEASE_TTL_MS,
  LiveDecisionsTarget,
  RedisLease,
  RedisProjectionBarrier,
  type RedisKeys,
} from '@lapi/read-models';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { DECISION_GENERATIONS, REDIS, REDIS_KEYS, REDIS_PREFIX } from '../redis.tokens';
import { WORKER_ID } from '../worker-id';
import { runExclusive } from './exclusive';
import { expireDecisions } from './expire-decisions';
import { ensureSchedules, SCHEDULE_CHECK_MS } from './job-schedules';
import { QueueRuntime } from './queue-runtime';

/** BullMQ in the worker: recurring jobs through job schedulers, one handler per job kind. */
@Injectable()
export class JobsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(JobsService.name);
  private runtime: QueueRuntime | undefined;
  private scheduleCheck: NodeJS.Timeout | undefined;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    @Inject(REDIS_PREFIX) private readonly prefix: string,
    @Inject(DECISION_GENERATIONS) private readonly generations: DecisionGenerations,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async onModuleInit(): Promise<void> {
    // The live generation of the read model, which `lapi projections rebuild` may switch.
    const generations = this.generations;
    const target = new LiveDecisionsTarget(this.redis, generations);
    const barrier = new RedisProjectionBarrier(
      this.redis,
      generations,
      BARRIER_TIMEOUT_MS.job,
      this.keys.projectorWake,
    );
    const sweeper = new RedisLease(this.redis, this.keys.expirySweepLease, WORKER_ID, LEASE_TTL_MS.expirySweep);
    const handlers: JobHandlers<typeof QueueName.Maintenance> = {
      [JobName.ExpireDecisions]: () =>
        runExclusive(sweeper, (stillLeader) => expireDecisions(target, this.store, barrier, new Date(), stillLeader)),
    };
    this.runtime = QueueRuntime.start(this.redis, this.prefix, QueueName.Maintenance, handlers, this.logger);
    const queue = this.runtime.queue;
    await ensureSchedules(queue);
    this.scheduleCheck = setInterval(() => {
      void ensureSchedules(queue).then(
        (created) =>
          created.length > 0 && this.logger.warn(`job schedulers were missing, re-created: ${created.join(', ')}`),
        () => undefined, // Redis away: the next check tries again
      );
    }, SCHEDULE_CHECK_MS);
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.scheduleCheck);
    await this.runtime?.close();
  }
}
