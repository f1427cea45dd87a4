import { START, type Checkpoint, type EventStore, type RecordedEvent } from '@lapi/event-store';
import type { Lease } from './lease';

/** A read model fed from the global log, that keeps its own checkpoint next to its data. */
export interface ProjectionTarget {
  readonly name: string;
  /** Where the read model stands in the log; null when it holds nothing (never built, or its store was emptied). */
  checkpoint(): Promise<Checkpoint | null>;
  /**
   * Applies a batch and moves the checkpoint from `from` to `to` in one atomic step. Returns false, changing
   * nothing, when the checkpoint is no longer `from` (another projector got there first, or the store was emptied).
   */
  apply(events: readonly RecordedEvent[], from: Checkpoint | null, to: Checkpoint): Promise<boolean>;
  /** Told when a step reached what the log can safely give. */
  caughtUp?(): Promise<unknown>;
}

export interface ProjectorStep {
  /** False when another process holds the lease: this one did nothing. */
  readonly owner: boolean;
  readonly applied: number;
  readonly checkpoint: Checkpoint | null;
}

/**
 * Moves one read model along the log. Only the lease holder works; the compare-and-set on the checkpoint fences
 * off a former holder whose lease expired mid-batch, so a batch is never applied twice.
 */
export class Projector {
  constructor(
    private readonly store: EventStore,
    private readonly target: ProjectionTarget,
    private readonly lease: Lease,
    private readonly batchSize = 1000,
  ) {}

  async step(): Promise<ProjectorStep> {
    if (!(await this.lease.acquire())) {
      return { owner: false, applied: 0, checkpoint: null };
    }
    const from = await this.target.checkpoint();
    const page = await this.store.readAll(from ?? START, this.batchSize);
    if (page.events.length === 0) {
      await this.target.caughtUp?.();
      return { owner: true, applied: 0, checkpoint: from };
    }
    const applied = await this.target.apply(page.events, from, page.checkpoint);
    if (applied && page.events.length < this.batchSize) {
      await this.target.caughtUp?.(); // a short page: nothing more the log can safely give now
    }
    return { owner: true, applied: applied ? page.events.length : 0, checkpoint: applied ? page.checkpoint : from };
  }

  /** Steps until the read model has caught up with what the log can safely give. */
  async catchUp(): Promise<number> {
    let total = 0;
    for (;;) {
      const step = await this.step();
      total += step.applied;
      if (!step.owner || step.applied < this.batchSize) {
        return total;
      }
    }
  }
}

export const formatCheckpoint = (c: Checkpoint): string => `${c.transactionId}:${c.position}`;

export const parseCheckpoint = (text: string | null): Checkpoint | null => {
  const m = text ? /^(\d+):(\d+)$/.exec(text) : null;
  return m ? { transactionId: BigInt(m[1]), position: BigInt(m[2]) } : null;
};
