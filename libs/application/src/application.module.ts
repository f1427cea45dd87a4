import { EVENT_STORE, PostgresEventStore, type DatabaseHandle } from '@lapi/event-store';
import { Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { alertHandlers } from './alerts/alert.handlers';
import { PROFILE_ENGINE, type ProfileEngine } from './alerts/profile-engine';
import { allowlistHandlers } from './allowlists/allowlist.queries';
import { bouncerHandlers } from './bouncers/bouncer.handlers';
import {
  DECISION_READER,
  inlineBarrier,
  PROJECTION_BARRIER,
  type DecisionReader,
  type ProjectionBarrier,
} from './decisions/decision-reader';
import { decisionHandlers } from './decisions/decision.handlers';
import { machineHandlers } from './machines/machine.handlers';
import { BcryptWorkerPool, PASSWORD_HASHER, type PasswordHasher } from './machines/password-hasher';
import { PruneMachinesHandler } from './machines/prune-machines';
import { CREDENTIAL_CHANGES, LocalCredentialChanges, type CredentialChanges } from './shared/credential-changes';
import { inlineProjections } from './shared/inline-projections';
import { CLOCK, DATABASE, systemClock, type Clock } from './shared/ports';
import { RecordUsageMetricsHandler } from './usage-metrics/record-usage-metrics';

/** Commands and queries shared by the API and the admin CLI, over an open database. */
@Module({})
export class ApplicationModule {
  static register(options: {
    database: DatabaseHandle;
    clock?: Clock;
    profiles?: ProfileEngine;
    /**
     * Where bouncers read decisions, and what writes wait for: the API's in-memory index (fed from Redis in a
     * cluster, straight from the log otherwise). Processes serving no bouncer (the CLI, the worker) have none.
     */
    decisions?: { reader: DecisionReader; barrier: ProjectionBarrier };
    /** The API's, bounded by its config; by default unbounded (the CLI runs one command at a time). */
    passwordHasher?: PasswordHasher;
    /** Where deletions are announced; by default to this process only (Redis pub/sub in a cluster). */
    credentialChanges?: CredentialChanges;
  }): DynamicModule {
    return {
      module: ApplicationModule,
      global: true,
      imports: [CqrsModule.forRoot()],
      providers: [
        { provide: DATABASE, useValue: options.database },
        { provide: CLOCK, useValue: options.clock ?? systemClock },
        { provide: EVENT_STORE, useValue: new PostgresEventStore(options.database.db, inlineProjections) },
        { provide: CREDENTIAL_CHANGES, useValue: options.credentialChanges ?? new LocalCredentialChanges() },
        { provide: PROFILE_ENGINE, useValue: options.profiles ?? noProfiles },
        { provide: DECISION_READER, useValue: options.decisions?.reader ?? noDecisionReader },
        { provide: PROJECTION_BARRIER, useValue: options.decisions?.barrier ?? inlineBarrier },
        {
          provide: PASSWORD_HASHER,
          useValue: options.passwordHasher ?? new BcryptWorkerPool({ maxQueued: Number.POSITIVE_INFINITY }),
        },
        ...machineHandlers,
        PruneMachinesHandler,
        ...bouncerHandlers,
        ...alertHandlers,
        ...decisionHandlers,
        ...allowlistHandlers,
        RecordUsageMetricsHandler,
      ],
      exports: [DATABASE, CLOCK, EVENT_STORE, CREDENTIAL_CHANGES, PROJECTION_BARRIER, DECISION_READER, CqrsModule],
    };
  }
}

/** For processes that never receive alerts (the CLI, the worker): refuses loudly rather than deciding nothing. */
const noProfiles: ProfileEngine = {
  evaluate: () => Promise.reject(new Error('no profiles are loaded in this process: alerts are received by the API')),
  notifies: false,
};

/** For processes that serve no bouncer (the CLI, the worker): refuses loudly rather than answering from nothing. */
const refuseReads = () =>
  Promise.reject(new Error('no decision reader in this process: bouncers are answered by the API'));
const noDecisionReader: DecisionReader = {
  find: refuseReads,
  pull: refuseReads,
  lookedUp: () => undefined,
  forget: () => Promise.resolve(),
  flushPullTimes: () => Promise.resolve(),
};
