import type { DecisionFilter, DecisionView, StartupBody } from '@lapi/read-models';

/** What a stream pull sends. */
export interface StreamPage {
  readonly new: DecisionView[];
  readonly deleted: DecisionView[];
  /** A startup answer already rendered (shared by the pulls that get the same answer): sent as it is. */
  readonly body?: StartupBody;
}

/**
 * A reader's answer from an index page, with what moves (or keeps) the position. The lists are read through, not
 * copied: a startup page computes them only when read (most pulls send its rendered body).
 */
export const answerOf = (page: StreamPage, position: Pick<StreamAnswer, 'commit' | 'release'>): StreamAnswer => ({
  get new() {
    return page.new;
  },
  get deleted() {
    return page.deleted;
  },
  body: page.body,
  commit: position.commit,
  release: position.release,
});

/** A pull's answer as a reader gives it: the page, and what moves (or keeps) the bouncer's position after it. */
export interface StreamAnswer extends StreamPage {
  /**
   * Moves the bouncer's position past this answer. Called once the answer is on its way: a server that dies
   * before leaves the bouncer where it was, and its next pull gets the same changes again instead of losing them.
   */
  commit(): Promise<void>;
  /** The answer did not reach the bouncer: its position stays where it was (frees what the pull held). */
  release(): Promise<void>;
}

/** Where the bouncer endpoints read decisions: the database's read model, or the cluster's in-memory replica. */
export interface DecisionReader {
  find(filter: DecisionFilter, now: Date): Promise<DecisionView[]>;
  /**
   * Notes a bouncer process's lookup (position key): it moves its last pull, as in the reference (decisions.go
   * GetDecision). Written nowhere now: with the others, once a minute (LookupTimes).
   */
  lookedUp(bouncer: string, at: Date): void;
  /** Drops what is kept of a deleted bouncer's positions and lookup times. */
  forget(bouncer: string): Promise<void>;
  /** Writes the pull and lookup times noted since the last once-a-minute write, now (listings read them). */
  flushPullTimes(): Promise<void>;
  /**
   * One pull of a bouncer's stream; its position moves only when the answer is committed. `now` is read once the
   * changes the answer covers are read, never before (a change made after it would be judged in the past).
   */
  pull(
    bouncer: string,
    filter: DecisionFilter,
    options: { startup: boolean; dedup: boolean },
    now: () => Date,
  ): Promise<StreamAnswer>;
}
export const DECISION_READER = Symbol('DECISION_READER');

/**
 * Lets a write return only once the read side bouncers use has applied it (read-your-writes across replicas).
 * A no-op where the read model commits with the events.
 */
export interface ProjectionBarrier {
  waitFor(appended: readonly { transactionId: bigint; lastPosition: bigint }[]): Promise<void>;
}
export const PROJECTION_BARRIER = Symbol('PROJECTION_BARRIER');
export const inlineBarrier: ProjectionBarrier = { waitFor: () => Promise.resolve() };
