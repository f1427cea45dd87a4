import { DECISION_DELETIONS_STREAM, DecisionNotFoundError, decisionsDeleted } from '@lapi/domain';
import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { decisionExists, findActiveDecisionIds, type DecisionView } from '@lapi/projections';
import { Inject, Logger } from '@nestjs/common';
import { CommandHandler, QueryHandler, type ICommandHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CLOCK, DATABASE, toMetadata, type Clock, type CommandContext } from '../shared/ports';
import { DECISION_READER, PROJECTION_BARRIER, type DecisionReader, type ProjectionBarrier } from './decision-reader';
import { DeleteDecision, DeleteDecisions, FindDecisions, PullDecisionStream } from './decision.commands';
import { ImportDecisionsHandler } from './import-decisions';

abstract class DecisionDeletion {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(DATABASE) protected readonly database: DatabaseHandle,
    @Inject(CLOCK) protected readonly clock: Clock,
    @Inject(PROJECTION_BARRIER) protected readonly barrier: ProjectionBarrier,
  ) {}

  protected async expire(decisionIds: number[], context: CommandContext, now: Date): Promise<number> {
    if (decisionIds.length > 0) {
      const appended = await this.store.appendToStream(
        DECISION_DELETIONS_STREAM,
        [decisionsDeleted(decisionIds, now)],
        { expectedVersion: 'any', metadata: toMetadata(context, now) },
      );
      await this.barrier.waitFor([appended]);
    }
    return decisionIds.length;
  }
}

@CommandHandler(DeleteDecisions)
export class DeleteDecisionsHandler extends DecisionDeletion implements ICommandHandler<DeleteDecisions> {
  async execute(c: DeleteDecisions): Promise<number> {
    const now = this.clock.now();
    return this.expire(await findActiveDecisionIds(this.database.db, c.filter, now), c.context, now);
  }
}

@CommandHandler(DeleteDecision)
export class DeleteDecisionHandler extends DecisionDeletion implements ICommandHandler<DeleteDecision> {
  async execute(c: DeleteDecision): Promise<number> {
    if (!(await decisionExists(this.database.db, c.decisionId))) {
      throw new DecisionNotFoundError(c.decisionId);
    }
    return this.expire([c.decisionId], c.context, this.clock.now());
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
