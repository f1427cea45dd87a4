import { AlertNotFoundError } from '@lapi/domain';
import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { findAlertIds, loadAlerts, type AlertView } from '@lapi/read-models';
import { Inject } from '@nestjs/common';
import { CommandHandler, QueryHandler, type ICommandHandler, type IQueryHandler } from '@nestjs/cqrs';
import { PROJECTION_BARRIER, type ProjectionBarrier } from '../decisions/decision-reader';
import { AppendBatcher } from '../shared/append-batcher';
import { CLOCK, DATABASE, toMetadata, type Clock } from '../shared/ports';
import { alertAppends, decideAlerts, deleteAlertsById } from './alert-writes';
import { DeleteAlert, DeleteAlerts, GetAlert, PushAlerts, SearchAlerts } from './alert.commands';
import { PROFILE_ENGINE, type ProfileEngine } from './profile-engine';

@CommandHandler(PushAlerts)
export class PushAlertsHandler implements ICommandHandler<PushAlerts> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(PROFILE_ENGINE) private readonly profiles: ProfileEngine,
    @Inject(PROJECTION_BARRIER) private readonly barrier: ProjectionBarrier,
  ) {
    this.batcher = new AppendBatcher(store);
  }

  /** Alerts pushed at the same time by many agents share commits (see AppendBatcher). */
  private readonly batcher: AppendBatcher;

  async execute(c: PushAlerts): Promise<string[]> {
    const now = this.clock.now();
    const events = await decideAlerts(this.database, this.profiles, c.alerts, c.machineId, now);
    if (events.length > 0) {
      const appended = await this.batcher.append(alertAppends(events), toMetadata(c.context, now));
      await this.barrier.waitFor(appended);
    }
    return events.map((e) => String(e.data.alertId));
  }
}

abstract class AlertDeletion {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(DATABASE) protected readonly database: DatabaseHandle,
    @Inject(CLOCK) protected readonly clock: Clock,
    @Inject(PROJECTION_BARRIER) protected readonly barrier: ProjectionBarrier,
  ) {}

  protected async deleteAlerts(
    alertIds: number[],
    c: { context: DeleteAlerts['context'] },
    now: Date,
  ): Promise<number> {
    const appended = await deleteAlertsById(this.store, alertIds, c.context, now);
    if (appended.length > 0) {
      await this.barrier.waitFor(appended);
    }
    return alertIds.length;
  }
}

@CommandHandler(DeleteAlerts)
export class DeleteAlertsHandler extends AlertDeletion implements ICommandHandler<DeleteAlerts> {
  async execute(c: DeleteAlerts): Promise<number> {
    const now = this.clock.now();
    const ids = await findAlertIds(this.database.db, c.filter, { now, limit: 0, sort: 'DESC' });
    return this.deleteAlerts(ids, c, now);
  }
}

@CommandHandler(DeleteAlert)
export class DeleteAlertHandler extends AlertDeletion implements ICommandHandler<DeleteAlert> {
  async execute(c: DeleteAlert): Promise<number> {
    const now = this.clock.now();
    const [alert] = await loadAlerts(this.database.db, [c.alertId], false);
    if (!alert) {
      throw new AlertNotFoundError();
    }
    return this.deleteAlerts([c.alertId], c, now);
  }
}

@QueryHandler(SearchAlerts)
export class SearchAlertsHandler implements IQueryHandler<SearchAlerts> {
  constructor(
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(q: SearchAlerts): Promise<AlertView[]> {
    const ids = await findAlertIds(this.database.db, q.filter, {
      now: this.clock.now(),
      limit: q.options.limit,
      sort: q.options.sort,
    });
    return loadAlerts(this.database.db, ids, q.options.withDecisions);
  }
}

@QueryHandler(GetAlert)
export class GetAlertHandler implements IQueryHandler<GetAlert> {
  constructor(@Inject(DATABASE) private readonly database: DatabaseHandle) {}

  async execute(q: GetAlert): Promise<AlertView | null> {
    const [alert] = await loadAlerts(this.database.db, [q.alertId]);
    return alert ?? null;
  }
}

export const alertHandlers = [
  PushAlertsHandler,
  DeleteAlertsHandler,
  DeleteAlertHandler,
  SearchAlertsHandler,
  GetAlertHandler,
];
