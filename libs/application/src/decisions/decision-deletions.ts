import { DECISION_DELETIONS_STREAM, decisionsDeleted } from '@lapi/domain/alerts/alert.events';
import { DecisionNotFoundError } from '@lapi/domain/decisions/decision.errors';
import type { AppendResult } from '@lapi/event-store';
import {
  decisionExists,
  findActiveDecisionIds,
  type DecisionDeleteFilter,
} from '@lapi/read-models/decisions/sql/decision-queries';
import { toMetadata, type CommandContext, type WriteDeps } from '../shared/ports';

// The deletions DELETE /v1/decisions and `lapi decisions delete` share: one DecisionsDeleted event for every
// decision selected, whatever their number (issue #12 item 8), appended here; the caller waits for its read models.

/** How many decisions were deleted, and the append to wait for (none when nothing matched). */
export interface DecisionDeletion {
  readonly deleted: number;
  readonly appended: AppendResult[];
}

/** Expires (`until := now`) the active decisions a filter selects; an empty filter selects them all. */
export async function deleteDecisionsWhere(
  deps: WriteDeps,
  filter: DecisionDeleteFilter,
  context: CommandContext,
): Promise<DecisionDeletion> {
  const now = deps.clock.now();
  return expire(deps, await findActiveDecisionIds(deps.database.db, filter, now), context, now);
}

/** Expires one decision by id; DecisionNotFoundError when there is none (its alert deleted included). */
export async function deleteDecisionById(
  deps: WriteDeps,
  decisionId: number,
  context: CommandContext,
): Promise<DecisionDeletion> {
  if (!(await decisionExists(deps.database.db, decisionId))) {
    throw new DecisionNotFoundError(decisionId);
  }
  return expire(deps, [decisionId], context, deps.clock.now());
}

async function expire(
  deps: WriteDeps,
  decisionIds: number[],
  context: CommandContext,
  now: Date,
): Promise<DecisionDeletion> {
  if (decisionIds.length === 0) {
    return { deleted: 0, appended: [] };
  }
  const appended = await deps.store.appendToStream(DECISION_DELETIONS_STREAM, [decisionsDeleted(decisionIds, now)], {
    expectedVersion: 'any',
    metadata: toMetadata(context, now),
  });
  return { deleted: decisionIds.length, appended: [appended] };
}
