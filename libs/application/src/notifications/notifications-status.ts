import type { DeadNotification, PluginStatus } from '@lapi/read-models/notifications/notification-queue';
import { SqlNotificationQueue } from '@lapi/read-models/notifications/sql-notification-queue';
import type { WriteDeps } from '../shared/ports';

/** `lapi notifications status`, the same in every mode. */
export interface NotificationsStatus {
  /** Who feeds the queues from the log, and how many events it has not read yet. */
  readonly owner: string | null;
  readonly lag: number | null;
  /** Deliveries by state: waiting, delayed (a retry's back-off), active, failed. */
  readonly jobs: Record<string, number>;
  readonly plugins: PluginStatus[];
  /** Newest first. */
  readonly deadLetters: DeadNotification[];
  /** The signed decisions webhook, when one is configured (cluster mode). */
  readonly webhook: WebhookStatus | null;
}

export interface WebhookStatus {
  readonly url: string;
  readonly owner: string | null;
  /** Last change delivered, and the change log's last: their difference is what the receiver has not got yet. */
  readonly delivered: number;
  readonly head: number;
  readonly failures: number;
  readonly lastError: string | null;
  readonly lastDeliveryAt: string | null;
}

/**
 * The notification pipeline kept in the database (embedded and PostgreSQL-only mode), with the columns of the
 * cluster's: the jobs are the deliveries by state, and `failed` stays 0 (what fails for good is dead-lettered).
 */
export async function databaseNotificationsStatus(
  deps: Pick<WriteDeps, 'database' | 'store' | 'clock'>,
  deadLimit: number,
): Promise<NotificationsStatus> {
  const queue = new SqlNotificationQueue(deps.database.db, deps.store);
  const now = deps.clock.now().getTime();
  const checkpoint = await queue.storedCheckpoint();
  return {
    owner: await queue.owner(now),
    lag: checkpoint ? await deps.store.countAfter(checkpoint) : null,
    jobs: { ...(await queue.deliveryCounts(now)) },
    plugins: await Promise.all((await queue.plugins()).map((p) => queue.status(p))),
    deadLetters: await queue.deadLetters(deadLimit),
    webhook: null,
  };
}
