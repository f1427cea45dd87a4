import {
  ALERT_DELETIONS_STREAM,
  alertStreamId,
  DomainError,
  NANOS_PER_MS,
  parseGoDuration,
  parseIpRange,
  receiveAlertInSteps,
} from '@lapi/domain';
import { EVENT_STORE, mapInSlices, runInSlices, Slicer, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { allocateAlertIds, countDecisions, findAlertIds, loadAlerts, type AlertView } from '@lapi/projections';
import { Inject } from '@nestjs/common';
import { CommandHandler, QueryHandler, type ICommandHandler, type IQueryHandler } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { PROJECTION_BARRIER, type ProjectionBarrier } from '../decisions/decision-reader';
import { AppendBatcher } from '../shared/append-batcher';
import { CLOCK, DATABASE, toMetadata, type Clock } from '../shared/ports';
import { DeleteAlert, DeleteAlerts, GetAlert, PushAlerts, SearchAlerts } from './alert.commands';
import { PROFILE_ENGINE, type DecisionStats, type ProfileEngine } from './profile-engine';

export class AlertNotFoundError extends DomainError {
  readonly code = 'ALERT.NOT_FOUND';
  constructor() {
    super('ent: alert not found'); // the reference's text for DELETE /v1/alerts/:id
  }
}

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
    // Decide every alert of the batch first (profiles, validation), then store them all in one transaction:
    // a bad alert stores none, as a failed request should.
    const events = [];
    for (const alert of c.alerts) {
      // An alert without decisions (null or []) gets them from the profiles (controllers/v1/alerts.go); one with
      // decisions only runs them for its notifications.
      const { decisions, notify } =
        alert.decisions?.length && !this.profiles.notifies
          ? { decisions: alert.decisions, notify: undefined }
          : await this.profiles.evaluate(alert, this.stats(now), now);
      const { alertId, decisionIds } = await allocateAlertIds(this.database.db, decisions.length);
      // In slices: an alert may carry 100k decisions, and other requests should not wait for all of them.
      const slicer = new Slicer();
      const decisionUuids = await mapInSlices(decisions, () => randomUUID(), slicer);
      events.push(
        await runInSlices(
          receiveAlertInSteps(
            alert,
            decisions,
            c.machineId,
            { alertId, alertUuid: randomUUID(), decisionIds, decisionUuids },
            now,
            notify,
          ),
          slicer,
        ),
      );
    }
    if (events.length > 0) {
      const appended = await this.batcher.append(
        events.map((e) => ({
          streamId: alertStreamId(e.data.alertId),
          events: [e],
          expectedVersion: 'no_stream' as const,
        })),
        toMetadata(c.context, now),
      );
      await this.barrier.waitFor(appended);
    }
    return events.map((e) => String(e.data.alertId));
  }

  private stats(now: Date): DecisionStats {
    const db = this.database.db;
    const target = (value: string) => parseIpRange(value) ?? value;
    return {
      decisionsCount: async (value) => (await countDecisions(db, target(value))).count,
      decisionsSinceCount: async (value, since) => {
        const ns = parseGoDuration(since);
        const createdSince = new Date(now.getTime() - (ns === null ? 0 : Number(ns / NANOS_PER_MS)));
        return (await countDecisions(db, target(value), { createdSince })).count;
      },
      activeDecisionsCount: async (value) => (await countDecisions(db, target(value), { activeAt: now })).count,
      activeDecisionsTimeLeftMs: async (value) => {
        const { longestUntil } = await countDecisions(db, target(value), { activeAt: now });
        return longestUntil ? Math.max(0, longestUntil.getTime() - now.getTime()) : 0;
      },
    };
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
    if (alertIds.length > 0) {
      const appended = await this.store.appendToStream(
        ALERT_DELETIONS_STREAM,
        [{ type: 'AlertsDeleted', data: { alertIds, at: now.toISOString() } }],
        { expectedVersion: 'any', metadata: toMetadata(c.context, now) },
      );
      await this.barrier.waitFor([appended]);
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
