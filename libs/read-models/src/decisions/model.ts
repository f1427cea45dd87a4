import type { DecisionOp, DecisionRecord } from './redis/decision-record';

/** What the rules read of the decisions kept so far (an in-memory index, or a store's records). */
export interface DecisionState {
  /** The decision as kept now; undefined when never seen or compacted away. */
  get(id: number): DecisionRecord | undefined;
  /** Ids of the decisions an alert created that are still kept, in any order. */
  idsOfAlert(alertId: number): readonly number[];
}

/** One change to one decision, in the order that numbers the changes. */
export interface DecisionChange {
  readonly record: DecisionRecord;
  /** A new decision: it waits for its expiry (otherwise it ended early and leaves the expiry index). */
  readonly created: boolean;
}

/**
 * What the log's events do to the decisions a bouncer sees — the one place this is written. Each op yields the
 * records it changes, in a fixed order, so that a rebuild from the start of the log numbers the changes as before
 * (bouncer positions are change numbers):
 * - `put`: the decision as the alert created it;
 * - `expire` (deleted at `at`): its until lowered to `at`, unless it had ended by then — announced when it did, so
 *   every reader sees each end once, and dropping long-ended records (compaction) never changes what is yielded;
 * - `removeAlerts`: each decision of the alerts, by ascending id, removed (never active again, reported in
 *   `deleted`) with its until lowered, unless it had ended or was removed already;
 * - `expired`: nothing — the expiry sweep records history; the record's until already says it.
 * A state that applies each change as it is yielded lets the ops of one batch see each other.
 */
export function* decisionChanges(ops: readonly DecisionOp[], state: DecisionState): Generator<DecisionChange> {
  for (const op of ops) {
    switch (op.op) {
      case 'put':
        yield { record: op.record, created: true };
        break;
      case 'expire':
        for (const id of op.ids) {
          const record = state.get(id);
          if (record && record.until > op.at) {
            yield { record: { ...record, until: op.at }, created: false };
          }
        }
        break;
      case 'removeAlerts':
        for (const alertId of op.alertIds) {
          for (const id of [...state.idsOfAlert(alertId)].sort((a, b) => a - b)) {
            const record = state.get(id);
            if (record && !record.removed && record.until > op.at) {
              yield { record: { ...record, alertId, until: op.at, removed: true }, created: false };
            }
          }
        }
        break;
      case 'expired':
        break;
    }
  }
}
