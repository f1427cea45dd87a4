import type { NotificationAlert } from '@lapi/domain';

/** Every queue of the cluster. Queue names become Redis keys under the deployment's prefix. */
export const QueueName = {
  Maintenance: 'maintenance',
  Notifications: 'notifications',
  Retention: 'retention',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/** Every job kind; each has exactly one handler (checked when a worker starts). */
export const JobName = {
  ExpireDecisions: 'expire-decisions',
  DeliverNotification: 'deliver-notification',
  FlushAlerts: 'flush-alerts',
  AutodeleteClients: 'autodelete-clients',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** Which queue carries each job kind. */
export const QUEUE_OF = {
  [JobName.ExpireDecisions]: QueueName.Maintenance,
  [JobName.DeliverNotification]: QueueName.Notifications,
  [JobName.FlushAlerts]: QueueName.Retention,
  [JobName.AutodeleteClients]: QueueName.Retention,
} as const satisfies Record<JobName, QueueName>;

export const jobNamesOf = (queue: QueueName): JobName[] =>
  (Object.keys(QUEUE_OF) as JobName[]).filter((name) => QUEUE_OF[name] === queue);

/** One notification: the alerts of one batch for one plugin. Alerts are immutable, so the job carries them. */
export interface DeliverNotificationData {
  readonly plugin: string;
  /** Ids of the queued entries, for the dead-letter list and the logs. */
  readonly entryIds: readonly string[];
  readonly alerts: readonly NotificationAlert[];
}

/** Jobs carry ids or immutable data, never secrets. */
export type JobPayload =
  | { name: typeof JobName.ExpireDecisions; data: Record<string, never> }
  | { name: typeof JobName.DeliverNotification; data: DeliverNotificationData }
  | { name: typeof JobName.FlushAlerts; data: Record<string, never> }
  | { name: typeof JobName.AutodeleteClients; data: Record<string, never> };

/** What a handler may know about its job besides its data. */
export interface JobInfo {
  readonly id: string | undefined;
  /** Failed attempts so far (0 on the first). */
  readonly attemptsMade: number;
  /** When the job was created, ms since the epoch. */
  readonly createdAt: number;
}

/** Recurring jobs, scheduled with BullMQ job schedulers (one job per tick across all workers). */
export const SCHEDULES: readonly { queue: QueueName; name: JobName; everyMs: number }[] = [
  // Bouncers never wait for it (an expired decision is already out of every answer); it records expiries in the log.
  { queue: QueueName.Maintenance, name: JobName.ExpireDecisions, everyMs: 10_000 },
  // The reference runs both every minute (database/flush.go); scheduled only when configured.
  { queue: QueueName.Retention, name: JobName.FlushAlerts, everyMs: 60_000 },
  { queue: QueueName.Retention, name: JobName.AutodeleteClients, everyMs: 60_000 },
];

type NameOf<Q extends QueueName> = { [N in JobName]: (typeof QUEUE_OF)[N] extends Q ? N : never }[JobName];

/** The handlers of one queue's job kinds. */
export type JobHandlers<Q extends QueueName = QueueName> = {
  [N in NameOf<Q>]: (data: Extract<JobPayload, { name: N }>['data'], job: JobInfo) => Promise<unknown>;
};

/** Refuses to start a worker that would leave a job kind unhandled or handle one twice. */
export function checkHandlers(
  handlers: Partial<Record<string, unknown>>,
  names: readonly string[] = Object.values(JobName),
): void {
  const missing = names.filter((n) => typeof handlers[n] !== 'function');
  const unknown = Object.keys(handlers).filter((n) => !names.includes(n));
  if (missing.length || unknown.length) {
    throw new Error(
      `job handlers do not match the job kinds: missing [${missing.join(', ')}], unknown [${unknown.join(', ')}]`,
    );
  }
}
