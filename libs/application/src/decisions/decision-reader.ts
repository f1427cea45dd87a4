import type { DecisionFilter, DecisionView } from '@lapi/projections';

export interface StreamAnswer {
  readonly new: DecisionView[];
  readonly deleted: DecisionView[];
}

/** Where the bouncer endpoints read decisions: the database's read model, or the cluster's in-memory replica. */
export interface DecisionReader {
  find(filter: DecisionFilter, now: Date): Promise<DecisionView[]>;
  /** One pull of a bouncer's stream; moves its position unless `peek`. */
  pull(
    bouncer: string,
    filter: DecisionFilter,
    options: { startup: boolean; dedup: boolean; peek: boolean },
    now: Date,
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
