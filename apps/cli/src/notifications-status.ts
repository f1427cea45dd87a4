import type { NotificationsStatus, WebhookStatus } from '@lapi/application';
import type { AppConfig } from '@lapi/config';
import { openDatabase, PostgresEventStore } from '@lapi/event-store';
import { QueueName } from '@lapi/jobs';
import {
  DecisionGenerations,
  notificationKeys,
  redisKeys,
  RedisLease,
  RedisNotificationQueue,
} from '@lapi/read-models';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { sendAdminRequest } from './admin-client';

/**
 * The notification pipeline: queues per plugin, deliveries, retries, dead letters. In a cluster it lives in Redis;
 * otherwise in the database, read by the running embedded server (admin socket) or directly.
 */
export async function notificationsStatus(config: AppConfig, deadLimit = 20): Promise<NotificationsStatus> {
  if (!config.redisUrl || config.database.kind !== 'postgres') {
    const { result } = await sendAdminRequest(config, { op: 'notifications.status', deadLimit });
    return result as NotificationsStatus;
  }
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  const database = await openDatabase(config.database, { maxConnections: 1 });
  const bullConnection = redis.duplicate();
  let bull: Queue | undefined;
  try {
    await redis.connect();
    bull = new Queue(QueueName.Notifications, { connection: bullConnection, prefix: `${config.redisPrefix}bull` });
    const store = new PostgresEventStore(database.db);
    const keys = redisKeys(config.redisPrefix);
    const queue = new RedisNotificationQueue(redis, notificationKeys(keys.notifications), store);
    const checkpoint = await queue.storedCheckpoint();
    return {
      owner: await new RedisLease(redis, keys.notificationsLease, 'cli', 1).owner(),
      lag: checkpoint ? await store.countAfter(checkpoint) : null,
      jobs: await bull.getJobCounts('waiting', 'delayed', 'active', 'failed'),
      plugins: await Promise.all((await queue.plugins()).map((p) => queue.status(p))),
      deadLetters: await queue.deadLetters(deadLimit),
      webhook: config.webhook ? await webhookStatus(redis, keys, config.webhook.url) : null,
    };
  } finally {
    await bull?.close();
    bullConnection.disconnect();
    redis.disconnect();
    await database.close();
  }
}

async function webhookStatus(redis: Redis, keys: ReturnType<typeof redisKeys>, url: string): Promise<WebhookStatus> {
  const status = await redis.hgetall(`${keys.webhook}status`);
  return {
    url,
    owner: await new RedisLease(redis, keys.webhookLease, 'cli', 1).owner(),
    delivered: Number((await redis.get(`${keys.webhook}cursor`)) ?? 0),
    head: (await new DecisionGenerations(redis, keys).head()).seq,
    failures: Number(status.failures ?? 0),
    lastError: status.lastError ?? null,
    lastDeliveryAt: status.lastDeliveryAt ? new Date(Number(status.lastDeliveryAt)).toISOString() : null,
  };
}
