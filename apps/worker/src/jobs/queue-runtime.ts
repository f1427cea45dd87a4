import { checkHandlers, jobNamesOf, type JobHandlers, type JobInfo, type QueueName } from '@lapi/jobs';
import type { Logger } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import type Redis from 'ioredis';
import { jobFailures } from '../metrics/worker-metrics';

export interface QueueRuntimeOptions {
  readonly concurrency?: number;
  /** Delay before a failed job's next attempt (BullMQ's custom back-off); jobs opt in with `backoff: custom`. */
  readonly backoffMs?: (error: Error | undefined) => number;
  /** A job this process must not run (e.g. a kind its configuration turned off): completed without a call. */
  readonly skip?: (jobName: string) => boolean;
  /** Failures not worth a warning (a retry announced by the handler itself). */
  readonly expectedFailure?: (error: Error) => boolean;
}

/**
 * One BullMQ queue as the worker runs it: a Queue (producers, job schedulers) and a Worker with exactly one handler
 * per job kind of the queue (checked here, at start-up), each on a Redis connection of its own that `close()` ends
 * — BullMQ leaves connections it was given open. Workers retry forever while Redis is away (maxRetriesPerRequest:
 * null), as BullMQ requires.
 */
export class QueueRuntime {
  private constructor(
    readonly queue: Queue,
    private readonly worker: Worker,
    private readonly connections: readonly Redis[],
  ) {}

  static start<Q extends QueueName>(
    redis: Redis,
    redisPrefix: string,
    name: Q,
    handlers: JobHandlers<Q>,
    logger: Logger,
    options: QueueRuntimeOptions = {},
  ): QueueRuntime {
    checkHandlers(handlers, jobNamesOf(name));
    const byName = handlers as unknown as Record<string, (data: unknown, job: JobInfo) => Promise<unknown>>;
    const connections = [
      redis.duplicate({ maxRetriesPerRequest: null }),
      redis.duplicate({ maxRetriesPerRequest: null }),
    ];
    const prefix = `${redisPrefix}bull`;
    const queue = new Queue(name, { connection: connections[0], prefix });
    const worker = new Worker(
      name,
      async (job) =>
        options.skip?.(job.name)
          ? null
          : byName[job.name](job.data, { id: job.id, attemptsMade: job.attemptsMade, createdAt: job.timestamp }),
      {
        connection: connections[1],
        prefix,
        concurrency: options.concurrency ?? 1,
        ...(options.backoffMs && { settings: { backoffStrategy: (_n, _type, error) => options.backoffMs!(error) } }),
      },
    );
    worker.on('failed', (job, error) => {
      jobFailures.inc({ queue: name, job: job?.name ?? 'unknown' });
      if (!options.expectedFailure?.(error)) {
        logger.warn(`job ${job?.name ?? '?'} ${job?.id ?? ''} failed: ${error.message}`);
      }
    });
    return new QueueRuntime(queue, worker, connections);
  }

  /** Finishes the jobs in progress, takes no more, and ends the connections. */
  async close(): Promise<void> {
    await this.worker.close();
    await this.queue.close();
    this.connections.forEach((c) => c.disconnect());
  }
}
