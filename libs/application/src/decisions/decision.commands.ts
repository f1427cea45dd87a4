import type { DecisionDeleteFilter, DecisionFilter, DecisionView } from '@lapi/read-models';
import { Command, Query } from '@nestjs/cqrs';
import type { CommandContext } from '../shared/ports';
import type { StreamPage } from './decision-reader';

/** Expires the active decisions a filter selects (`until := now`); resolves with how many. */
export class DeleteDecisions extends Command<number> {
  constructor(
    readonly filter: DecisionDeleteFilter,
    readonly context: CommandContext,
  ) {
    super();
  }
}

export class DeleteDecision extends Command<number> {
  constructor(
    readonly decisionId: number,
    readonly context: CommandContext,
  ) {
    super();
  }
}

/** Active decisions for a bouncer's live query; `bouncer`: the asking process's position key (its last pull moves). */
export class FindDecisions extends Query<DecisionView[]> {
  constructor(
    readonly bouncer: string,
    readonly filter: DecisionFilter,
  ) {
    super();
  }
}

/** One pull of a bouncer's stream; the answer's commit() moves its position. */
/**
 * One pull of a bouncer's stream. `deliver` sends the answer and resolves true once it is in the network's hands
 * (false: it did not reach the bouncer); the position moves only then.
 */
export class PullDecisionStream extends Command<void> {
  constructor(
    readonly bouncer: string,
    readonly filter: DecisionFilter,
    readonly options: { startup: boolean; dedup: boolean },
    readonly deliver: (answer: StreamPage) => Promise<boolean>,
  ) {
    super();
  }
}
