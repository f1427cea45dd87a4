import { EVENT_STORE } from '@lapi/event-store';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { PushAlerts } from '../alerts/alert.commands';
import {
  DECISION_READER,
  PROJECTION_BARRIER,
  type DecisionReader,
  type ProjectionBarrier,
} from '../decisions/decision-reader';
import { PASSWORD_HASHER, type PasswordHasher } from '../machines/password-hasher';
import { CREDENTIAL_CHANGES, type CredentialChanges } from '../shared/credential-changes';
import { CLOCK, DATABASE, type Clock } from '../shared/ports';
import type { AdminContext } from './admin-operations';

/**
 * The admin context of a Nest application that registered ApplicationModule (the API serving the admin socket,
 * tests): its own store, hasher and buses, so a request runs as the API's own handlers would run it.
 */
export function nestAdminContext(app: { get<T>(token: unknown): T }): AdminContext {
  const buses = { commands: app.get<CommandBus>(CommandBus), queries: app.get<QueryBus>(QueryBus) };
  return {
    deps: { store: app.get(EVENT_STORE), database: app.get(DATABASE), clock: app.get<Clock>(CLOCK) },
    credentials: app.get<CredentialChanges>(CREDENTIAL_CHANGES),
    hasher: () => app.get<PasswordHasher>(PASSWORD_HASHER),
    // Through the API's handler: its profiles (notifications), commit batching and projection barrier.
    pushAlerts: (machineId, alerts, context) => buses.commands.execute(new PushAlerts(machineId, alerts, context)),
    settle: (appended) => app.get<ProjectionBarrier>(PROJECTION_BARRIER).waitFor(appended),
    buses: () => Promise.resolve(buses),
    flushPullTimes: () => app.get<DecisionReader>(DECISION_READER).flushPullTimes(),
  };
}
