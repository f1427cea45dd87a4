import { SCHEDULES } from '@lapi/jobs';
import type { Queue } from 'bullmq';

// How often the worker checks that its recurring jobs are still scheduled: one EXISTS-like read per schedule.
export const SCHEDULE_CHECK_MS = 10_000;

/**
 * Creates the job schedulers of the queue (those `wanted`) that are missing: all of them at start-up, and again whenever Redis lost them (emptied
 * or restored from an old snapshot), without which the expiry sweeps would silently stop. Returns what it created.
 */
export async function ensureSchedules(queue: Queue, wanted: (name: string) => boolean = () => true): Promise<string[]> {
  const created: string[] = [];
  for (const s of SCHEDULES.filter((x) => x.queue === queue.name && wanted(x.name))) {
    // Upserting an existing scheduler would move its next run: only create a missing one.
    if ((await queue.getJobScheduler(s.name)) === undefined) {
      await queue.upsertJobScheduler(
        s.name,
        { every: s.everyMs },
        { name: s.name, data: {}, opts: { removeOnComplete: 100, removeOnFail: 500 } },
      );
      created.push(s.name);
    }
  }
  return created;
}
