import { deliverNotification, dispatchNotifications, RetryLater, sendHttpNotification } from '@lapi/application';
import { type HttpNotificationConfig } from '@lapi/domain';
import { EVENT_STORE, type EventStore } from '@lapi/event-store';
import { JobName, QueueName, type JobHandlers } from '@lapi/jobs';
import {
  LEASE_TTL_MS,
  notificationKeys,
  Projector,
  RedisLease,
  RedisNotificationQueue,
  type RedisKeys,
} from '@lapi/read-models';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { QueueRuntime } from '../jobs/queue-runtime';
import { ProjectionRunner } from '../projections/projection-runner';
import { REDIS, REDIS_KEYS, REDIS_PREFIX } from '../redis.tokens';
import { WORKER_ID } from '../worker-id';

/** DI token: the http notification configs by name (empty when no profile notifies). */
export const NOTIFICATION_CONFIGS = Symbol('NOTIFICATION_CONFIGS');

// The reference's broker looks at its queues once a second; a little more often costs one LLEN per plugin.
const DISPATCH_EVERY_MS = 250;
const DELIVERY_CONCURRENCY = 16;

/**
 * Profile notifications, delivered as the reference's http plugin does: one worker at a time (a lease) feeds the
 * per-plugin queues from the log and turns due batches into BullMQ jobs; every worker delivers jobs, retried
 * with the reference's back-off and dead-lettered when the retries are spent.
 */
@Injectable()
export class NotificationsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(NotificationsService.name);
  private runner: ProjectionRunner | undefined;
  private lease: RedisLease | undefined;
  private runtime: QueueRuntime | undefined;

  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(REDIS) private readonly redis: Redis,
    @Inject(REDIS_KEYS) private readonly keys: RedisKeys,
    @Inject(REDIS_PREFIX) private readonly prefix: string,
    @Inject(NOTIFICATION_CONFIGS) private readonly configs: ReadonlyMap<string, HttpNotificationConfig>,
  ) {}

  onModuleInit(): void {
    if (this.configs.size === 0) {
      return; // no profile notifies: do not read the log for nothing
    }
    const notifications = new RedisNotificationQueue(this.redis, notificationKeys(this.keys.notifications), this.store);
    const handlers: JobHandlers<typeof QueueName.Notifications> = {
      [JobName.DeliverNotification]: (data, job) =>
        deliverNotification(data, job, {
          configs: this.configs,
          queue: notifications,
          send: sendHttpNotification,
          now: Date.now,
          random: Math.random,
        }),
    };
    this.runtime = QueueRuntime.start(this.redis, this.prefix, QueueName.Notifications, handlers, this.logger, {
      concurrency: DELIVERY_CONCURRENCY,
      backoffMs: (error) => (error instanceof RetryLater ? error.delayMs : 1_000),
      expectedFailure: (error) => error instanceof RetryLater,
    });
    const queue = this.runtime.queue;

    this.lease = new RedisLease(this.redis, this.keys.notificationsLease, WORKER_ID, LEASE_TTL_MS.notifications);
    let lastDispatch = 0;
    this.runner = new ProjectionRunner(
      'notifications',
      new Projector(this.store, notifications, this.lease),
      async (step) => {
        const now = Date.now();
        if (!step.owner || (step.applied === 0 && now - lastDispatch < DISPATCH_EVERY_MS)) {
          return;
        }
        lastDispatch = now;
        await dispatchNotifications(
          notifications,
          this.configs,
          async (jobId, data) => {
            await queue.add(JobName.DeliverNotification, data, {
              jobId,
              // Retries are decided by deliverNotification (the reference's limits), not by this count.
              attempts: 1_000,
              backoff: { type: 'custom' },
              // Kept a day so a re-dispatch after a crash finds the id taken and adds nothing.
              removeOnComplete: { age: 24 * 3600 },
              removeOnFail: { age: 7 * 24 * 3600 },
            });
          },
          now,
        );
      },
    );
    this.runner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.runner?.stop();
    await this.lease?.release();
    await this.runtime?.close();
  }
}
