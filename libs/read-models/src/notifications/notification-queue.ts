import type { NotificationAlert } from '@lapi/domain';

/** One alert waiting for one plugin. `id` is unique in the deployment: `<event position>.<index in the event>`. */
export interface QueuedNotification {
  readonly id: string;
  readonly plugin: string;
  readonly profile: string;
  readonly alert: NotificationAlert;
  /** ms since the epoch */
  readonly enqueuedAt: number;
}

export interface DeadNotification {
  readonly plugin: string;
  readonly job: string;
  readonly alerts: number;
  readonly attempts: number;
  readonly reason: string;
  /** ISO-8601 */
  readonly at: string;
}

export interface PluginStatus {
  readonly plugin: string;
  readonly queued: number;
  readonly enqueued: number;
  readonly delivered: number;
  readonly failedAttempts: number;
  readonly deadLettered: number;
  readonly lastFlushAt: string | null;
  readonly lastDeliveredAt: string | null;
  readonly lastStatus: string | null;
  readonly lastError: string | null;
}

/** Dead letters kept per deployment, newest first. */
export const DEAD_LETTERS_KEPT = 1_000;

/**
 * The per-plugin queues of profile notifications, wherever they live (Redis in a cluster, the database
 * otherwise): what the grouping (dispatch) and a delivery read and record.
 */
export interface NotificationQueue {
  /** Every plugin that ever had something queued or dead-lettered, sorted. */
  plugins(): Promise<string[]>;
  /** The plugin's queued alerts, oldest first. */
  queued(plugin: string): Promise<QueuedNotification[]>;
  /** ms of the plugin's last dispatch (the grouping's lastFlushAt), null before the first. */
  lastFlushAt(plugin: string): Promise<number | null>;
  /** The first `count` queued entries were handed to deliveries at `at`. Only one dispatcher runs at a time. */
  taken(plugin: string, count: number, at: number): Promise<void>;
  recordDelivery(plugin: string, outcome: { status: string; at: number }): Promise<void>;
  recordFailure(plugin: string, error: string, at: number): Promise<void>;
  deadLetter(dead: DeadNotification): Promise<void>;
  /** Newest first. */
  deadLetters(limit?: number): Promise<DeadNotification[]>;
  status(plugin: string): Promise<PluginStatus>;
}
