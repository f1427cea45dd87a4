import { ApplicationModule, RedisCredentialChanges, RETENTION_POLICY, type RetentionPolicy } from '@lapi/application';
import type { HttpNotificationConfig } from '@lapi/domain';
import type { DatabaseHandle } from '@lapi/event-store';
import { DecisionGenerations, redisKeys } from '@lapi/read-models';
import { Logger, Module, type DynamicModule } from '@nestjs/common';
import type Redis from 'ioredis';
import { JobsService } from './jobs/jobs.service';
import { RetentionJobsService } from './jobs/retention-jobs.service';
import { NOTIFICATION_CONFIGS, NotificationsService } from './notifications/notifications.service';
import { DecisionsProjectionService } from './projections/decisions-projection.service';
import { DECISION_GENERATIONS, PROJECTION_RETENTION_MS, REDIS, REDIS_KEYS, REDIS_PREFIX } from './redis.tokens';
import { DecisionsWebhookService, WEBHOOK_TARGET } from './webhook/decisions-webhook.service';

const projections = [DecisionsProjectionService, DecisionsWebhookService];
const jobs = [JobsService, NotificationsService, RetentionJobsService];
// Without a retention setting nothing is scheduled.
const NO_RETENTION: RetentionPolicy = { flush: {}, autodelete: { machines: {}, bouncers: {} } };

/**
 * Background work of the cluster over the same handlers as the API: the projections into Redis, and BullMQ jobs
 * (expiry, notification delivery, retention).
 */
@Module({})
export class WorkerModule {
  static register(options: {
    database: DatabaseHandle;
    redis: Redis;
    redisPrefix: string;
    notificationConfigs?: ReadonlyMap<string, HttpNotificationConfig>;
    /** Unset: no decisions webhook. */
    webhook?: { url: string; secret: string };
    /** Unset: no retention job is scheduled. */
    retention?: RetentionPolicy;
    /** How long the decisions read model keeps decisions that ended (ms); unset: 24h. */
    projectionRetentionMs?: number;
  }): DynamicModule {
    const keys = redisKeys(options.redisPrefix);
    // The retention's deletions reach the API replicas' caches at once.
    const credentialChanges = new RedisCredentialChanges(options.redis, keys.credentialChanges, (message) =>
      new Logger('CredentialChanges').warn(message),
    );
    return {
      module: WorkerModule,
      imports: [ApplicationModule.register({ database: options.database, credentialChanges })],
      providers: [
        { provide: REDIS, useValue: options.redis },
        { provide: REDIS_KEYS, useValue: keys },
        { provide: DECISION_GENERATIONS, useValue: new DecisionGenerations(options.redis, keys) },
        { provide: REDIS_PREFIX, useValue: options.redisPrefix },
        { provide: NOTIFICATION_CONFIGS, useValue: options.notificationConfigs ?? new Map() },
        { provide: WEBHOOK_TARGET, useValue: options.webhook },
        { provide: RETENTION_POLICY, useValue: options.retention ?? NO_RETENTION },
        { provide: PROJECTION_RETENTION_MS, useValue: options.projectionRetentionMs ?? 24 * 60 * 60_000 },
        ...projections,
        ...jobs,
      ],
    };
  }
}
