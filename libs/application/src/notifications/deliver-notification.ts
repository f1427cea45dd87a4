import { formatAlerts, nextRetry, type HttpNotificationConfig } from '@lapi/domain';
import type { DeliverNotificationData, JobInfo } from '@lapi/jobs';
import type { NotificationQueue } from '@lapi/read-models';
import type { SendNotification } from './http-notifier';

/**
 * Thrown to have the delivery tried again after `delayMs`: BullMQ's backoff strategy reads it in the workers, the
 * database queue reschedules the row without Redis.
 */
export class RetryLater extends Error {
  constructor(
    readonly delayMs: number,
    reason: string,
  ) {
    super(reason);
    this.name = 'RetryLater';
  }
}

export interface DeliveryDeps {
  readonly configs: ReadonlyMap<string, HttpNotificationConfig>;
  readonly queue: Pick<NotificationQueue, 'recordDelivery' | 'recordFailure' | 'deadLetter'>;
  readonly send: SendNotification;
  readonly now: () => number;
  readonly random: () => number;
}

export type DeliveryOutcome = 'delivered' | 'dead-lettered';

/**
 * One attempt at one notification. A failed request is retried with the reference broker's back-off (retry.ts)
 * by throwing RetryLater; when the retries are spent, or the notification can never be sent (its plugin is no
 * longer configured, its template fails), it goes to the dead-letter list. An answer outside 2xx is delivered:
 * the reference's http plugin only logs it, and so do we (lastStatus in `lapi notifications status`).
 */
export async function deliverNotification(
  data: DeliverNotificationData,
  job: JobInfo,
  deps: DeliveryDeps,
): Promise<DeliveryOutcome> {
  const dead = async (reason: string, attempts: number): Promise<DeliveryOutcome> => {
    await deps.queue.deadLetter({
      plugin: data.plugin,
      job: job.id ?? '',
      alerts: data.alerts.length,
      attempts,
      reason,
      at: new Date(deps.now()).toISOString(),
    });
    return 'dead-lettered';
  };
  const config = deps.configs.get(data.plugin);
  if (config === undefined) {
    return dead(`no notification config named '${data.plugin}' (LAPI_NOTIFICATIONS_DIR)`, 0);
  }
  let body: string;
  try {
    body = formatAlerts(config.format, data.alerts);
  } catch (error) {
    return dead(`format: ${(error as Error).message}`, 0);
  }
  let status: number;
  try {
    status = await deps.send(config, body);
  } catch (error) {
    const reason = describe(error, config);
    const failed = job.attemptsMade + 1;
    await deps.queue.recordFailure(data.plugin, reason, deps.now());
    const next = nextRetry(failed, config, deps.now() - job.createdAt, deps.random());
    if (next.retry) {
      throw new RetryLater(next.delayMs, reason);
    }
    return dead(`${reason} (gave up: ${next.reason})`, failed);
  }
  await deps.queue.recordDelivery(data.plugin, { status: String(status), at: deps.now() });
  return 'delivered';
}

function describe(error: unknown, config: HttpNotificationConfig): string {
  const e = error as { name?: string; code?: string; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') {
    return `timed out after ${config.timeoutMs} ms`;
  }
  return e.code ? `${e.code}: ${e.message ?? ''}` : (e.message ?? String(error));
}
