import { EVENT_STORE, type EventStore } from '@lapi/event-store';
import { checkHandlers, JobName, jobNamesOf, QueueName, type JobHandlers } from '@lapi/jobs';
import { DecisionGenerations, LiveDecisionsTarget, RedisProjectionBarrier, type RedisKeys } from '@lapi/projections';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import type Redis from 'ioredis';
import { REDIS, REDIS_KEYS, REDIS_PREFIX } from '../redis.tokens';
import { expireDecisions } from './expire-decisions';
import { ensureSchedules, SCHEDULE_CHECK_MS } from './job-schedules';

/** BullMQ in the worker: recurring jobs through job schedulers, one handler per job kind. */
@Injectable()
export class JobsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(JobsService.name);
  private queue: Queue | undefined;
  private readonly connections: Redis[] = [];
  private worker: Worker | undefined;
  private scheduleCheck: NodeJS.Timeout | undefined;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    @Inject(REDIS_PREFIX) private readonly prefix: string,
    @Inject(EVENT_STORE) private readonly store: EventStore,
  ) {}

  async onModuleInit(): Promise<void> {
    // The live generation of the read model, which `lapi projections rebuild` may switch.
    const generations = new DecisionGenerations(this.redis, this.keys);
    const target = new LiveDecisionsTarget(this.redis, generations);
    const barrier = new RedisProjectionBarrier(this.redis, generations, 10_000, this.keys.projectorWake);
    const handlers: JobHandlers<typeof QueueName.Maintenance> = {
      [JobName.ExpireDecisions]: () => expireDecisions(target, this.store, barrier, new Date()),
    };
    checkHandlers(handlers, jobNamesOf(QueueName.Maintenance));
    // Workers retry forever while Redis is away (maxRetriesPerRequest: null), as BullMQ requires.
    const connection = () => {
      const c = this.redis.duplicate({ maxRetriesPerRequest: null });
      this.connections.push(c);
      return c;
    };
    const options = { connection: connection(), prefix: `${this.prefix}bull` };
    this.queue = new Queue(QueueName.Maintenance, options);
    await ensureSchedules(this.queue);
    this.scheduleCheck = setInterval(() => {
      void ensureSchedules(this.queue!).then(
        (created) =>
          created.length > 0 && this.logger.warn(`job schedulers were missing, re-created: ${created.join(', ')}`),
        () => undefined, // Redis away: the next check tries again
      );
    }, SCHEDULE_CHECK_MS);
    this.worker = new Worker(
      QueueName.Maintenance,
      (job) =>
        handlers[job.name as typeof JobName.ExpireDecisions](
          {},
          { id: job.id, attemptsMade: job.attemptsMade, createdAt: job.timestamp },
        ),
      {
        connection: connection(),
        prefix: `${this.prefix}bull`,
      },
    );
    this.worker.on('failed', (job, error) => this.logger.warn(`job ${job?.name ?? '?'} failed: ${error.message}`));
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.scheduleCheck);
    // Finish the job in progress, take no more.
    await this.worker?.close();
    await this.queue?.close();
    // BullMQ leaves connections it was given open.
    this.connections.forEach((c) => c.disconnect());
  }
}
