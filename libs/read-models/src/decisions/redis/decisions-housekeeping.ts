import type { DecisionGenerations } from './decision-generations';

/** What housekeeping needs of the live read model (LiveDecisionsTarget). */
export interface Compactable {
  compact(now: number, windowMs: number, limit?: number): Promise<{ dropped: number; done: boolean }>;
}

export interface HousekeepingOptions {
  /** Records that ended longer ago than this (ms of log time) are dropped, and the change log trimmed to it. */
  readonly retentionMs: number;
  /** Pause between compactions once one has caught up, and between checks for stale generations. */
  readonly everyMs?: number;
  /** Records dropped per round trip: one round per call, so a projector step is never held up long. */
  readonly batch?: number;
}

/**
 * Leader-only upkeep of the decisions read model, run by the projector lease holder between its steps (so never
 * twice at once, nor on replicas): compaction of the live generation, and deletion of generations a crash left
 * behind (a worker that died between switching the pointer and deleting the old keys).
 */
export class DecisionsHousekeeping {
  private nextCompaction = 0;
  private nextSweep = 0;
  private readonly everyMs: number;
  private readonly batch: number;

  constructor(
    private readonly target: Compactable,
    private readonly generations: DecisionGenerations,
    private readonly options: HousekeepingOptions,
  ) {
    this.everyMs = options.everyMs ?? 60_000;
    this.batch = options.batch ?? 1000;
  }

  /** Does what is due at `now` (ms); returns the records dropped and the generations deleted. */
  async run(now: number): Promise<{ dropped: number; staleGenerations: number[] }> {
    let dropped = 0;
    if (now >= this.nextCompaction) {
      const round = await this.target.compact(now, this.options.retentionMs, this.batch);
      dropped = round.dropped;
      this.nextCompaction = round.done ? now + this.everyMs : now;
    }
    let staleGenerations: number[] = [];
    if (now >= this.nextSweep) {
      this.nextSweep = now + this.everyMs;
      staleGenerations = await this.generations.dropStale();
    }
    return { dropped, staleGenerations };
  }
}
