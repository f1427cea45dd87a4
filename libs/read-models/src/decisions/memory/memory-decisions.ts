import { START, type Checkpoint, type EventStore, type RecordedEvent } from '@lapi/event-store';
import { decisionChanges, type DecisionState } from '../model';
import { decisionOps } from '../redis/decision-record';
import type { DecisionFilter } from '../sql/decision-queries';
import { DecisionIndex, type IndexCursor, type IndexPage } from './decision-index';

// Events read per round trip: alerts can carry 100k decisions each, so pages stay short.
const PAGE = 200;
// Changes applied between two yields to the event loop.
const SLICE = 2_000;
// Compaction runs at most this often: a pass looks at every decision.
const COMPACT_EVERY_MS = 60_000;

export interface MemoryDecisionsOptions {
  /** Decisions that ended longer ago than this (ms of log time) are dropped, as in the cluster's read model. */
  readonly retentionMs: number;
  /** How long a write waits for the index to apply it before answering anyway (a transaction open elsewhere). */
  readonly barrierTimeoutMs?: number;
}

/** A stream pull's answer: `full` when it was answered as a first pull (no usable position). */
export interface MemoryPage extends IndexPage {
  readonly full: boolean;
}

/**
 * The decisions read model in this process's memory, projected straight from the event log: what bouncers read
 * in embedded mode and on PostgreSQL without Redis. The log is read from its start when the process starts and
 * followed after; changes are numbered as they are applied, by the rules in `model.ts`, so a restart numbers them
 * again the same way and bouncer positions (change numbers) stay valid.
 *
 * Writes of this process wait for it (`waitFor`): the next bouncer request sees them, with no database read.
 */
export class MemoryDecisions {
  private readonly index = new DecisionIndex();
  /** Alert → the ids of its decisions still kept: what a deletion of the alert ends. */
  private readonly alerts = new Map<number, number[]>();
  private checkpoint: Checkpoint = START;
  private readonly observers: ((event: RecordedEvent) => void)[] = [];
  private syncing: Promise<void> | undefined;
  /** When (performance.now()) the sync under way was asked for: it applies everything committed before. */
  private syncAskedAt = -Infinity;
  /** When the last sync that completed was asked for: everything committed before is applied. */
  private freshAsOf = -Infinity;
  /** Log time (ms): the latest created_at applied; compaction measures its window on it. */
  private logClock = 0;
  /** Decisions that ended before this (ms) were dropped: a position older than it gets a full answer. */
  private compacted = 0;
  private nextCompaction = 0;
  private readonly state: DecisionState = {
    get: (id) => this.index.current(id),
    idsOfAlert: (alertId) => this.alerts.get(alertId) ?? [],
  };

  constructor(
    private readonly store: EventStore,
    private readonly options: MemoryDecisionsOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Calls `observe` with every event read from the log from now on (other processes' writes included). */
  observe(observe: (event: RecordedEvent) => void): void {
    this.observers.push(observe);
  }

  /** The number of the last change applied (0 when none). */
  get seq(): number {
    return this.index.seq;
  }

  get size(): number {
    return this.index.size;
  }

  /** Brings the index up to what the log can give now; concurrent callers share one catch-up. */
  sync(): Promise<void> {
    if (this.syncing === undefined) {
      const asked = performance.now();
      this.syncAskedAt = asked;
      this.syncing = this.catchUp().then(
        () => {
          this.syncing = undefined;
          this.freshAsOf = Math.max(this.freshAsOf, asked);
        },
        (error: unknown) => {
          this.syncing = undefined;
          throw error;
        },
      );
    }
    return this.syncing;
  }

  /**
   * Whether the index applied everything other processes committed more than `maxAgeMs` ago (real time, whatever
   * clock the process is given): a reader that accepts that bound needs no sync, and so no database round trip.
   */
  freshWithin(maxAgeMs: number): boolean {
    return performance.now() - this.freshAsOf <= maxAgeMs;
  }

  /**
   * A sync only when the index may be more than `maxAgeMs` behind the log: returns at once when it is not, joins the
   * sync under way when that one was asked for within the bound, else reads the log after this call (syncFresh).
   * Under load, one request in many waits for a read of the log, shared by those that arrive meanwhile.
   */
  syncWithin(maxAgeMs: number): Promise<void> {
    if (this.freshWithin(maxAgeMs)) {
      return Promise.resolve();
    }
    if (this.syncing !== undefined && performance.now() - this.syncAskedAt <= maxAgeMs) {
      return this.syncing;
    }
    return this.syncFresh();
  }

  /**
   * A sync that reads the log after this call: what another process committed before it is applied on return (a
   * sync already under way may have read the log before that commit).
   */
  async syncFresh(): Promise<void> {
    await this.syncing?.catch(() => undefined);
    return this.sync();
  }

  /** Read-your-writes: returns once the index has applied these appends (or the wait timed out). */
  async waitFor(appended: readonly { transactionId: bigint; lastPosition: bigint }[]): Promise<void> {
    const deadline = this.now() + (this.options.barrierTimeoutMs ?? 2_000);
    for (let pause = 1; ; pause = Math.min(pause * 2, 50)) {
      // A sync already running may have read the log before these appends: go round until one covers them.
      await this.sync();
      if (
        appended.every((a) => !after({ transactionId: a.transactionId, position: a.lastPosition }, this.checkpoint))
      ) {
        return;
      }
      if (this.now() >= deadline) {
        return; // another transaction holds the log back (see readAll): the change arrives with a later sync
      }
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }

  find(filter: DecisionFilter, now: number) {
    return this.index.find(filter, now);
  }

  countActive(now: number) {
    return this.index.countActive(now);
  }

  /**
   * One stream pull. Without a position, or with one this index cannot continue (from another log, ahead of it,
   * or older than what compaction dropped): every decision, as on startup.
   */
  pull(filter: DecisionFilter, dedup: boolean, cursor: IndexCursor | null, now: number): MemoryPage {
    if (cursor && cursor.seq <= this.index.seq && cursor.pulledAt >= this.compacted) {
      return { ...this.index.delta(filter, dedup, cursor, now), full: false };
    }
    // Assigned, not spread: the startup page computes its lists only when read (most pulls send its body).
    return Object.assign(this.index.startup(filter, dedup, now), { full: true });
  }

  private async catchUp(): Promise<void> {
    for (;;) {
      const page = await this.store.readAll(this.checkpoint, PAGE);
      for (const event of page.events) {
        this.observers.forEach((observe) => observe(event));
        await this.apply(decisionOps(event));
        this.logClock = Math.max(this.logClock, event.createdAt.getTime());
      }
      this.checkpoint = page.checkpoint;
      if (page.events.length < PAGE) {
        break;
      }
      // Long catch-ups (the whole log at start) let requests in between pages.
      await new Promise((resolve) => setImmediate(resolve));
    }
    this.compactIfDue();
  }

  private async apply(ops: ReturnType<typeof decisionOps>): Promise<void> {
    let applied = 0;
    for (const { record, created } of decisionChanges(ops, this.state)) {
      // A 100k-decision alert is applied in slices: lookups and pulls are answered in between (from the changes
      // applied so far: each answer is still exactly the log up to a change number).
      if (++applied % SLICE === 0) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      this.index.apply(record, this.index.seq + 1);
      if (created) {
        const ids = this.alerts.get(record.alertId);
        if (ids) {
          ids.push(record.id);
        } else {
          this.alerts.set(record.alertId, [record.id]);
        }
      }
    }
    for (const op of ops) {
      if (op.op === 'removeAlerts') {
        for (const alertId of op.alertIds) {
          this.alerts.delete(alertId);
        }
      }
    }
  }

  /**
   * Drops the decisions that ended more than the window before the log's time (capped by now), as the cluster's
   * compaction does: measured on the log, a restart drops what this run dropped at that point of the log.
   */
  private compactIfDue(): void {
    const now = this.now();
    if (now < this.nextCompaction || this.logClock === 0) {
      return;
    }
    this.nextCompaction = now + COMPACT_EVERY_MS;
    const t = Math.min(this.logClock, now) - this.options.retentionMs;
    const cutoff = t - (t % 1000);
    if (cutoff <= this.compacted) {
      return;
    }
    if (this.index.compact(cutoff) > 0) {
      for (const [alertId, ids] of this.alerts) {
        const kept = ids.filter((id) => this.index.current(id) !== undefined);
        if (kept.length === 0) {
          this.alerts.delete(alertId);
        } else if (kept.length < ids.length) {
          this.alerts.set(alertId, kept);
        }
      }
    }
    this.compacted = cutoff;
  }
}

const after = (a: Checkpoint, b: Checkpoint): boolean =>
  a.transactionId > b.transactionId || (a.transactionId === b.transactionId && a.position > b.position);
