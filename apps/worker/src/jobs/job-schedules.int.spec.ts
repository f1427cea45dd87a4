import { JobName, QueueName } from '@lapi/jobs';
import { openTestRedis } from '@lapi/testing';
import { Queue } from 'bullmq';
import { ensureSchedules } from './job-schedules';

describe('job schedulers', () => {
  it('are created once, and again after Redis lost them', async () => {
    const redis = openTestRedis();
    const connection = redis.redis.duplicate({ maxRetriesPerRequest: null });
    const queue = new Queue(QueueName.Maintenance, {
      connection,
      prefix: `${redis.prefix}bull`,
    });
    try {
      expect(await ensureSchedules(queue)).toEqual([JobName.ExpireDecisions]);
      const next = (await queue.getJobScheduler(JobName.ExpireDecisions))?.next;
      expect(await ensureSchedules(queue)).toEqual([]);
      // Left alone, an existing scheduler keeps its next run.
      expect((await queue.getJobScheduler(JobName.ExpireDecisions))?.next).toBe(next);

      const keys = await redis.redis.keys(`${redis.prefix}bull*`);
      await redis.redis.del(...keys);
      expect(await queue.getJobScheduler(JobName.ExpireDecisions)).toBeUndefined();
      expect(await ensureSchedules(queue)).toEqual([JobName.ExpireDecisions]);
      expect(await queue.getJobScheduler(JobName.ExpireDecisions)).toMatchObject({ every: 10_000 });
    } finally {
      await queue.close();
      connection.disconnect();
      await redis.close();
    }
  });
});
