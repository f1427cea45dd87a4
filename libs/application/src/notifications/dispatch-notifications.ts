import { dueBatches, type HttpNotificationConfig } from '@lapi/domain';
import type { DeliverNotificationData } from '@lapi/jobs';
import type { NotificationQueue } from '@lapi/read-models';

/** Adds one delivery job; adding the same job id twice must not create a second job. */
export type AddDeliveryJob = (jobId: string, data: DeliverNotificationData) => Promise<void>;

/**
 * Turns what is due in each plugin's queue into delivery jobs, by the reference's grouping (group_wait,
 * group_threshold: grouping.ts). Run by one process at a time (the Redis lease holder, or the holder of the
 * database's advisory lock). The job id is the batch's first entry, so if this process dies between adding the jobs
 * and trimming the queue, the next run adds the same ids and the queue ignores them (BullMQ's job ids; the database
 * adds and trims in one transaction).
 * A plugin that is no longer configured gets one job per alert, which its delivery dead-letters.
 */
export async function dispatchNotifications(
  queue: Pick<NotificationQueue, 'plugins' | 'queued' | 'lastFlushAt' | 'taken'>,
  configs: ReadonlyMap<string, HttpNotificationConfig>,
  addJob: AddDeliveryJob,
  now: number,
): Promise<number> {
  let jobs = 0;
  for (const plugin of await queue.plugins()) {
    const entries = await queue.queued(plugin);
    if (entries.length === 0) {
      continue;
    }
    const lastFlush = await queue.lastFlushAt(plugin);
    const due = dueBatches(
      {
        entries: entries.map((e) => ({ item: e, enqueuedAt: new Date(e.enqueuedAt) })),
        lastFlushAt: lastFlush === null ? null : new Date(lastFlush),
      },
      configs.get(plugin) ?? { groupWaitMs: 0, groupThreshold: 0 },
      new Date(now),
    );
    if (due.batches.length === 0) {
      continue;
    }
    let taken = 0;
    for (const batch of due.batches) {
      const items = batch.map((b) => b.item);
      await addJob(`notify-${items[0].id}`, {
        plugin,
        entryIds: items.map((i) => i.id),
        alerts: items.map((i) => i.alert),
      });
      taken += items.length;
      jobs += 1;
    }
    await queue.taken(plugin, taken, now);
  }
  return jobs;
}
