/** Every queue of the cluster. Queue names become Redis keys under the deployment's prefix. */
export const QueueName = {
  Maintenance: 'maintenance',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

/** Every job kind; each has exactly one handler (checked when a worker starts). */
export const JobName = {
  ExpireDecisions: 'expire-decisions',
} as const;
export type JobName = (typeof JobName)[keyof typeof JobName];

/** Jobs carry ids, never entities or secrets. */
export type JobPayload = { name: typeof JobName.ExpireDecisions; data: Record<string, never> };

/** Recurring jobs, scheduled with BullMQ job schedulers (one job per tick across all workers). */
export const SCHEDULES: readonly { queue: QueueName; name: JobName; everyMs: number }[] = [
  // Bouncers never wait for it (an expired decision is already out of every answer); it records expiries in the log.
  { queue: QueueName.Maintenance, name: JobName.ExpireDecisions, everyMs: 10_000 },
];

export type JobHandlers = { [N in JobName]: (data: Extract<JobPayload, { name: N }>['data']) => Promise<unknown> };

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
