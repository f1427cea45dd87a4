import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { parseCheckpoint } from '../../coordination/projector';
import { DecisionGenerations } from './decision-generations';

/** Upper bounds (ms) of the wait histogram's buckets; the last bucket holds the rest. */
export const WAIT_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000] as const;

/** What the barrier measured: how long writes waited for the projection. */
export interface BarrierStats {
  waits: number;
  timeouts: number;
  /** Waits cut short because Redis could not be asked. */
  unavailable: number;
  totalMs: number;
  maxMs: number;
  /** Count per WAIT_BUCKETS_MS bucket, plus one for longer waits. */
  histogram: number[];
}

export const emptyBarrierStats = (): BarrierStats => ({
  waits: 0,
  timeouts: 0,
  unavailable: 0,
  totalMs: 0,
  maxMs: 0,
  histogram: new Array<number>(WAIT_BUCKETS_MS.length + 1).fill(0),
});

/** The wait below which a fraction `q` of the writes fell, as the upper bound of its bucket (Infinity past them). */
export function waitQuantileMs(stats: BarrierStats, q: number): number {
  const rank = Math.ceil(q * stats.waits);
  let seen = 0;
  for (const [i, n] of stats.histogram.entries()) {
    seen += n;
    if (seen >= rank && n > 0) {
      return WAIT_BUCKETS_MS[i] ?? Infinity;
    }
  }
  return 0;
}

/**
 * Holds a write's answer until the Redis projection has applied its events, so a bouncer asking any replica
 * afterwards sees it. Bounded: past the timeout the write is answered anyway (it is durable in the log) and the
 * delay is logged, so a stopped projector slows writes down instead of failing them.
 */
export class RedisProjectionBarrier {
  private readonly logger = new Logger('ProjectionBarrier');
  readonly stats: BarrierStats = emptyBarrierStats();
  private warnedUnavailable = false;
  /** Told of every wait as it is recorded (the API's Prometheus histogram). */
  onWait: ((ms: number, timedOut: boolean) => void) | undefined;

  constructor(
    private readonly redis: Redis,
    /** The checkpoint's key, or the generations whose live checkpoint to follow. */
    private readonly checkpoint: string | DecisionGenerations,
    private readonly timeoutMs = 2_000,
    /** Channel on which to wake the projector up (redisKeys().projectorWake); none: it finds the events by polling. */
    private readonly wakeChannel?: string,
  ) {}

  async waitFor(appended: readonly { transactionId: bigint; lastPosition: bigint }[]): Promise<void> {
    if (appended.length === 0) {
      return;
    }
    const target = appended.reduce((a, b) => (after(b, a) ? b : a));
    const started = Date.now();
    if (this.wakeChannel !== undefined) {
      this.redis.publish(this.wakeChannel, '').catch(() => undefined); // best effort: the projector polls anyway
    }
    let delay = 1;
    for (;;) {
      let checkpoint;
      try {
        checkpoint = parseCheckpoint(
          this.checkpoint instanceof DecisionGenerations
            ? (await this.checkpoint.head()).checkpoint
            : await this.redis.get(this.checkpoint),
        );
      } catch (error) {
        // The write is durable in the log: answer it now rather than fail it or hold it while Redis is away.
        this.stats.unavailable += 1;
        if (!this.warnedUnavailable) {
          this.logger.warn(
            `Redis unavailable, writes are answered without waiting for the projection: ${String(error)}`,
          );
          this.warnedUnavailable = true;
        }
        return;
      }
      this.warnedUnavailable = false;
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

  /**
   * Writes this replica's stats to a Redis hash field (`<replica id>` → JSON), for `lapi projections status` and the
   * benchmarks; the field expires with the hash if every replica stops.
   */
  async publish(key: string, replicaId: string): Promise<void> {
    await this.redis
      .multi()
      .hset(key, replicaId, JSON.stringify({ ...this.stats, at: Date.now() }))
      .pexpire(key, 3_600_000)
      .exec();
  }

  private record(ms: number, timedOut: boolean): void {
    this.stats.waits += 1;
    this.stats.totalMs += ms;
    this.stats.maxMs = Math.max(this.stats.maxMs, ms);
    const bucket = WAIT_BUCKETS_MS.findIndex((limit) => ms <= limit);
    this.stats.histogram[bucket === -1 ? WAIT_BUCKETS_MS.length : bucket] += 1;
    if (timedOut) {
      this.stats.timeouts += 1;
    }
    this.onWait?.(ms, timedOut);
  }
}

/** (transaction id, position) order: the order the projector reads the log in. */
const after = (
  a: { transactionId: bigint; lastPosition: bigint },
  b: { transactionId: bigint; lastPosition: bigint },
) => a.transactionId > b.transactionId || (a.transactionId === b.transactionId && a.lastPosition > b.lastPosition);
