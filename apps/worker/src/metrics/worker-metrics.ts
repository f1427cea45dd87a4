import { START, type EventStore } from '@lapi/event-store';
import { QueueName } from '@lapi/jobs';
import {
  notificationKeys,
  parseCheckpoint,
  RedisNotificationQueue,
  scrapeGuard,
  type DecisionGenerations,
  type RedisKeys,
} from '@lapi/read-models';
import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import type Redis from 'ioredis';
import { Counter, Gauge, Registry } from 'prom-client';

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** Failed job attempts, counted by every QueueRuntime of this process (a module's counter, as its queues are). */
export const jobFailures = new Counter({
  name: 'lapi_job_failures_total',
  help: 'Failed attempts of BullMQ jobs run by this worker, by queue and job name.',
  labelNames: ['queue', 'job'],
  registers: [],
});

/**
 * The worker's Prometheus metrics: what it counts (job failures) and what it reads from Redis and the log at scrape
 * time (queue depths, projection lags, notification and webhook progress). A source that fails leaves its metrics
 * out of that scrape.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly logger = new Logger('WorkerMetrics');
  private readonly queues: Queue[];
  private readonly connection: Redis;

  constructor(
    redis: Redis,
    redisPrefix: string,
    private readonly keys: RedisKeys,
    generations: DecisionGenerations,
    private readonly store: EventStore,
    /** Whether a decisions webhook is configured (its progress is exposed only then). */
    webhook: boolean,
  ) {
    this.registry.registerMetric(jobFailures);
    // Queues only read counts here; one connection of their own, closed with them.
    this.connection = redis.duplicate({ maxRetriesPerRequest: 1 });
    this.queues = Object.values(QueueName).map(
      (name) => new Queue(name, { connection: this.connection, prefix: `${redisPrefix}bull` }),
    );
    const guard = scrapeGuard((message) => this.logger.warn(message));
    const queues = this.queues;
    const notifications = new RedisNotificationQueue(redis, notificationKeys(keys.notifications), store);

    new Gauge({
      name: 'lapi_queue_jobs',
      help: 'BullMQ jobs by queue and state (waiting, active, delayed, failed).',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        const counts = await guard('queue depths', () =>
          Promise.all(queues.map(async (q) => ({ queue: q.name, counts: await q.getJobCounts(...JOB_STATES) }))),
        );
        this.reset();
        for (const { queue, counts: byState } of counts ?? []) {
          for (const state of JOB_STATES) {
            this.set({ queue, state }, byState[state] ?? 0);
          }
        }
      },
    });
    new Gauge({
      name: 'lapi_event_log_head_position',
      help: 'Global position of the last event of the log readers can read.',
      registers: [this.registry],
      async collect() {
        const head = await guard('event log head', () => store.head());
        if (head) {
          this.set(Number(head.position));
        }
      },
    });
    new Gauge({
      name: 'lapi_projection_lag_events',
      help: 'Events committed to the log that a projection has not applied yet.',
      labelNames: ['projection'],
      registers: [this.registry],
      async collect() {
        const lags = await guard('projection lag', async () => {
          const decisions = parseCheckpoint((await generations.head()).checkpoint);
          const fed = await notifications.storedCheckpoint();
          return [
            { projection: 'decisions', lag: await store.countAfter(decisions ?? START) },
            // The notification feed starts at the log's head when it first runs: no checkpoint, nothing to report.
            ...(fed ? [{ projection: 'notifications', lag: await store.countAfter(fed) }] : []),
          ];
        });
        this.reset();
        for (const { projection, lag } of lags ?? []) {
          this.set({ projection }, lag);
        }
      },
    });
    new Gauge({
      name: 'lapi_decision_changes',
      help: 'Number of the last change in the decisions change log (what bouncers and the webhook follow).',
      registers: [this.registry],
      async collect() {
        const head = await guard('change log head', () => generations.head());
        if (head) {
          this.set(head.seq);
        }
      },
    });
    const pluginStats = ['queued', 'delivered', 'failedAttempts', 'deadLettered'] as const;
    new Gauge({
      name: 'lapi_notifications',
      help: 'Notification plugins: queued now, and delivered, failed attempts, dead-lettered so far (cluster totals).',
      labelNames: ['plugin', 'stat'],
      registers: [this.registry],
      async collect() {
        const statuses = await guard('notifications', async () =>
          Promise.all((await notifications.plugins()).map((p) => notifications.status(p))),
        );
        this.reset();
        for (const s of statuses ?? []) {
          for (const stat of pluginStats) {
            this.set({ plugin: s.plugin, stat }, s[stat]);
          }
        }
      },
    });
    if (webhook) {
      new Gauge({
        name: 'lapi_webhook_changes_behind',
        help: 'Decision changes the webhook receiver has not acknowledged yet.',
        registers: [this.registry],
        async collect() {
          const behind = await guard('webhook', async () => {
            const delivered = Number((await redis.get(`${keys.webhook}cursor`)) ?? 0);
            return (await generations.head()).seq - delivered;
          });
          if (behind !== undefined) {
            this.set(Math.max(0, behind));
          }
        },
      });
      new Gauge({
        name: 'lapi_webhook_failures',
        help: 'Failed webhook deliveries so far (cluster total).',
        registers: [this.registry],
        async collect() {
          const failures = await guard('webhook', async () =>
            Number((await redis.hget(`${keys.webhook}status`, 'failures')) ?? 0),
          );
          if (failures !== undefined) {
            this.set(failures);
          }
        },
      });
    }
  }

  scrape(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
    this.connection.disconnect();
  }
}
