import { pluginAlertsOf, type AlertReceived } from '@lapi/domain';
import type { Checkpoint, EventStore, RecordedEvent } from '@lapi/event-store';
import type Redis from 'ioredis';
import { formatCheckpoint, parseCheckpoint, type ProjectionTarget } from '../coordination/projector';
import {
  DEAD_LETTERS_KEPT,
  type DeadNotification,
  type NotificationQueue,
  type PluginStatus,
  type QueuedNotification,
} from './notification-queue';

/** The keys of the notification pipeline; all under one prefix. */
export const notificationKeys = (prefix: string) => ({
  prefix,
  checkpoint: `${prefix}checkpoint`,
  /** plugin → list of QueuedNotification JSON, oldest first. */
  queue: (plugin: string) => `${prefix}queue:${plugin}`,
  /** Every plugin that ever had something queued (for status and dispatch). */
  plugins: `${prefix}plugins`,
  /** plugin → ms of its last delivery (the grouping's lastFlushAt). */
  lastFlush: `${prefix}last-flush`,
  /** plugin → hash of counters and last outcome. */
  stats: (plugin: string) => `${prefix}stats:${plugin}`,
  /** Notifications given up on, newest first, bounded. */
  dead: `${prefix}dead`,
});
export type NotificationKeys = ReturnType<typeof notificationKeys>;

// The checkpoint compare-and-set and the enqueues commit together: a replayed batch never queues an alert twice.
const APPLY = `
local p = ARGV[1]
if (redis.call('GET', p .. 'checkpoint') or '') ~= ARGV[2] then return -1 end
for i = 4, #ARGV, 2 do
  local plugin = ARGV[i]
  redis.call('RPUSH', p .. 'queue:' .. plugin, ARGV[i + 1])
  redis.call('SADD', p .. 'plugins', plugin)
  redis.call('HINCRBY', p .. 'stats:' .. plugin, 'enqueued', 1)
end
redis.call('SET', p .. 'checkpoint', ARGV[3])
return 1`;

/**
 * The notification queues in Redis, fed from the log like a projection: each AlertReceived that profiles marked
 * for notification queues one entry per plugin. A new (or emptied) pipeline starts at the head of the log: it
 * notifies about what happens from then on, never about history.
 */
export class RedisNotificationQueue implements ProjectionTarget, NotificationQueue {
  readonly name = 'notifications';

  constructor(
    private readonly redis: Redis,
    readonly keys: NotificationKeys,
    private readonly store: Pick<EventStore, 'head'>,
    private readonly clock: () => number = Date.now,
  ) {}

  async checkpoint(): Promise<Checkpoint | null> {
    const current = parseCheckpoint(await this.redis.get(this.keys.checkpoint));
    if (current) {
      return current;
    }
    // NX: a racing former lease holder that started first wins, and both then agree.
    await this.redis.set(this.keys.checkpoint, formatCheckpoint(await this.store.head()), 'NX');
    return parseCheckpoint(await this.redis.get(this.keys.checkpoint));
  }

  /** The checkpoint as stored, without starting a new pipeline at the head (for status). */
  async storedCheckpoint(): Promise<Checkpoint | null> {
    return parseCheckpoint(await this.redis.get(this.keys.checkpoint));
  }

  async apply(events: readonly RecordedEvent[], from: Checkpoint | null, to: Checkpoint): Promise<boolean> {
    const args: string[] = [];
    const now = this.clock();
    for (const event of events) {
      if (event.type !== 'AlertReceived') {
        continue;
      }
      pluginAlertsOf(event as unknown as AlertReceived).forEach((a, i) => {
        const entry: QueuedNotification = { id: `${event.globalPosition}.${i}`, ...a, enqueuedAt: now };
        args.push(a.plugin, JSON.stringify(entry));
      });
    }
    const result = await this.redis.eval(
      APPLY,
      0,
      this.keys.prefix,
      from ? formatCheckpoint(from) : '',
      formatCheckpoint(to),
      ...args,
    );
    return result !== -1;
  }

  async plugins(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.plugins)).sort();
  }

  async queued(plugin: string): Promise<QueuedNotification[]> {
    const items = await this.redis.lrange(this.keys.queue(plugin), 0, -1);
    return items.map((json) => JSON.parse(json) as QueuedNotification);
  }

  async lastFlushAt(plugin: string): Promise<number | null> {
    const ms = await this.redis.hget(this.keys.lastFlush, plugin);
    return ms === null ? null : Number(ms);
  }

  /**
   * The first `count` queued entries were handed to delivery jobs. Only the dispatcher (the lease holder) takes
   * from the head, and enqueues only append, so trimming by count removes exactly those.
   */
  async taken(plugin: string, count: number, at: number): Promise<void> {
    await this.redis
      .multi()
      .ltrim(this.keys.queue(plugin), count, -1)
      .hset(this.keys.lastFlush, plugin, String(at))
      .exec();
  }

  async recordDelivery(plugin: string, outcome: { status: string; at: number }): Promise<void> {
    await this.redis.hset(this.keys.stats(plugin), {
      lastStatus: outcome.status,
      lastDeliveredAt: String(outcome.at),
    });
    await this.redis.hincrby(this.keys.stats(plugin), 'delivered', 1);
  }

  async recordFailure(plugin: string, error: string, at: number): Promise<void> {
    await this.redis
      .multi()
      .hincrby(this.keys.stats(plugin), 'failedAttempts', 1)
      .hset(this.keys.stats(plugin), { lastError: error, lastErrorAt: String(at) })
      .exec();
  }

  async deadLetter(dead: DeadNotification): Promise<void> {
    await this.redis
      .multi()
      .lpush(this.keys.dead, JSON.stringify(dead))
      .ltrim(this.keys.dead, 0, DEAD_LETTERS_KEPT - 1)
      .hincrby(this.keys.stats(dead.plugin), 'deadLettered', 1)
      .sadd(this.keys.plugins, dead.plugin)
      .exec();
  }

  async deadLetters(limit = 100): Promise<DeadNotification[]> {
    const items = await this.redis.lrange(this.keys.dead, 0, limit - 1);
    return items.map((json) => JSON.parse(json) as DeadNotification);
  }

  async status(plugin: string): Promise<PluginStatus> {
    const [queued, stats, lastFlush] = await Promise.all([
      this.redis.llen(this.keys.queue(plugin)),
      this.redis.hgetall(this.keys.stats(plugin)),
      this.lastFlushAt(plugin),
    ]);
    const time = (ms: string | number | null | undefined) =>
      ms === null || ms === undefined ? null : new Date(Number(ms)).toISOString();
    return {
      plugin,
      queued,
      enqueued: Number(stats.enqueued ?? 0),
      delivered: Number(stats.delivered ?? 0),
      failedAttempts: Number(stats.failedAttempts ?? 0),
      deadLettered: Number(stats.deadLettered ?? 0),
      lastFlushAt: time(lastFlush),
      lastDeliveredAt: time(stats.lastDeliveredAt),
      lastStatus: stats.lastStatus ?? null,
      lastError: stats.lastError ?? null,
    };
  }
}
