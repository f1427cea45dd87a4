import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { DecisionGenerations } from './decision-generations';
import { parseCheckpoint } from './projector';

/** What the barrier measured: how long writes waited for the projection. */
export interface BarrierStats {
  waits: number;
  timeouts: number;
  totalMs: number;
  maxMs: number;
}

/**
 * Holds a write's answer until the Redis projection has applied its events, so a bouncer asking any replica
 * afterwards sees it. Bounded: past the timeout the write is answered anyway (it is durable in the log) and the
 * delay is logged, so a stopped projector slows writes down instead of failing them.
 */
export class RedisProjectionBarrier {
  private readonly logger = new Logger('ProjectionBarrier');
  readonly stats: BarrierStats = { waits: 0, timeouts: 0, totalMs: 0, maxMs: 0 };

  constructor(
    private readonly redis: Redis,
    /** The checkpoint's key, or the generations whose live checkpoint to follow. */
    private readonly checkpoint: string | DecisionGenerations,
    private readonly timeoutMs = 2_000,
  ) {}

  async waitFor(appended: readonly { transactionId: bigint; lastPosition: bigint }[]): Promise<void> {
    if (appended.length === 0) {
      return;
    }
    const target = appended.reduce((a, b) => (after(b, a) ? b : a));
    const started = Date.now();
    let delay = 1;
    for (;;) {
      const checkpoint = parseCheckpoint(
        this.checkpoint instanceof DecisionGenerations
          ? (await this.checkpoint.head()).checkpoint
          : await this.redis.get(this.checkpoint),
      );
      if (
        checkpoint &&
        !after(target, { transactionId: checkpoint.transactionId, lastPosition: checkpoint.position })
      ) {
        this.record(Date.now() - started, false);
        return;
      }
      if (Date.now() - started >= this.timeoutMs) {
        this.record(Date.now() - started, true);
        this.logger.warn(
          `the decisions projection did not reach this write within ${this.timeoutMs} ms: is a worker running?`,
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 20);
    }
  }

  private record(ms: number, timedOut: boolean): void {
    this.stats.waits += 1;
    this.stats.totalMs += ms;
    this.stats.maxMs = Math.max(this.stats.maxMs, ms);
    if (timedOut) {
      this.stats.timeouts += 1;
    }
  }
}

/** (transaction id, position) order: the order the projector reads the log in. */
const after = (
  a: { transactionId: bigint; lastPosition: bigint },
  b: { transactionId: bigint; lastPosition: bigint },
) => a.transactionId > b.transactionId || (a.transactionId === b.transactionId && a.lastPosition > b.lastPosition);
