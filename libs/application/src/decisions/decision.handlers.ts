import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import type { DecisionView } from '@lapi/read-models';
import { Inject, Logger } from '@nestjs/common';
import { CommandHandler, QueryHandler, type ICommandHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CLOCK, DATABASE, type Clock, type WriteDeps } from '../shared/ports';
import { deleteDecisionById, deleteDecisionsWhere, type DecisionDeletion } from './decision-deletions';
import { DECISION_READER, PROJECTION_BARRIER, type DecisionReader, type ProjectionBarrier } from './decision-reader';
import { DeleteDecision, DeleteDecisions, FindDecisions, PullDecisionStream } from './decision.commands';
import { ImportDecisionsHandler } from './import-decisions';

/** DELETE /v1/decisions and its `:id` form: the shared deletion, then the wait for the bouncers' read models. */
abstract class DecisionDeletionHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(DATABASE) protected readonly database: DatabaseHandle,
    @Inject(CLOCK) protected readonly clock: Clock,
    @Inject(PROJECTION_BARRIER) protected readonly barrier: ProjectionBarrier,
  ) {}

  protected get deps(): WriteDeps {
    return { store: this.store, database: this.database, clock: this.clock };
  }

  protected async settled({ deleted, appended }: DecisionDeletion): Promise<number> {
    await this.barrier.waitFor(appended);
    return deleted;
  }
}

@CommandHandler(DeleteDecisions)
export class DeleteDecisionsHandler extends DecisionDeletionHandler implements ICommandHandler<DeleteDecisions> {
  async execute(c: DeleteDecisions): Promise<number> {
    return this.settled(await deleteDecisionsWhere(this.deps, c.filter, c.context));
  }
}

@CommandHandler(DeleteDecision)
export class DeleteDecisionHandler extends DecisionDeletionHandler implements ICommandHandler<DeleteDecision> {
  async execute(c: DeleteDecision): Promise<number> {
    return this.settled(await deleteDecisionById(this.deps, c.decisionId, c.context));
  }
}

@QueryHandler(FindDecisions)
export class FindDecisionsHandler implements IQueryHandler<FindDecisions> {
  constructor(
    @Inject(DECISION_READER) private readonly reader: DecisionReader,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  execute(q: FindDecisions): Promise<DecisionView[]> {
    const now = this.clock.now();
    this.reader.lookedUp(q.bouncer, now);
    return this.reader.find(q.filter, now);
  }
}

/**
 * The stream-pull protocol, in one place for every reader: read the answer, have it delivered, then move the
 * bouncer's position — only once the answer is in the network's hands (it is delivered even if this process dies
 * next). A process killed before leaves the position, and the bouncer's next pull, on any replica, repeats the
 * changes instead of missing them; an answer that did not reach the bouncer leaves it too.
 */
@CommandHandler(PullDecisionStream)
export class PullDecisionStreamHandler implements ICommandHandler<PullDecisionStream> {
  private readonly logger = new Logger('PullDecisionStream');

  constructor(
    @Inject(DECISION_READER) private readonly reader: DecisionReader,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  // Per bouncer, the commit of its previous answer, if still running in this process: a pull waits for it, so a
  // client that polls again right after an answer never reads the position from before it.
  private readonly committing = new Map<string, Promise<void>>();

  async execute(c: PullDecisionStream): Promise<void> {
    await this.committing.get(c.bouncer);
    const answer = await this.reader.pull(c.bouncer, c.filter, c.options, () => this.clock.now());
    let delivered: boolean;
    try {
      delivered = await c.deliver(answer);
    } catch (error) {
      await answer.release().catch(() => undefined);
      throw error;
    }
    if (!delivered) {
      await answer.release().catch(() => undefined);
      return;
    }
    const done = answer.commit();
    const settled: Promise<void> = done.then(
      () => undefined,
      (error: Error) =>
        this.logger.warn(`stream position of ${c.bouncer} not saved (its next pull repeats): ${error.message}`),
    );
    this.committing.set(c.bouncer, settled);
    void settled.then(() => {
      if (this.committing.get(c.bouncer) === settled) {
        this.committing.delete(c.bouncer);
      }
    });
    await settled;
  }
}

export const decisionHandlers = [
  ImportDecisionsHandler,
  DeleteDecisionsHandler,
  DeleteDecisionHandler,
  FindDecisionsHandler,
  PullDecisionStreamHandler,
];
