import type { Migration, MigrationProvider } from 'kysely';
import * as createEvents from './2026-11-28T20-00_create-events';
import * as createMachinesBouncers from './2026-11-28T20-10_create-machines-bouncers';
import * as createAlertsDecisions from './2026-11-28T21-30_create-alerts-decisions';
import * as alertsMachineIndex from './2026-11-28T23-30_alerts-machine-index';
import * as bouncersAuthType from './2026-11-29T02-45_bouncers-auth-type';
import * as bouncerInstances from './2026-11-29T03-00_bouncer-instances';
import * as notificationQueue from './2026-11-29T04-00_notification-queue';
import * as bouncerLookups from './2026-11-29T05-00_bouncer-lookups';
import * as allowlists from './2026-11-29T06-00_allowlists';
import * as usageMetrics from './2026-11-29T06-00_usage-metrics';
import * as dropDecisionXidIndexes from './2026-12-07T22-00_drop-decision-xid-indexes';

// A static list rather than FileMigrationProvider: the same code runs from TypeScript (tests) and the build.
const migrations: Record<string, Migration> = {
  '2026-11-28T20-00_create-events': createEvents,
  '2026-11-28T20-10_create-machines-bouncers': createMachinesBouncers,
  '2026-11-28T21-30_create-alerts-decisions': createAlertsDecisions,
  '2026-11-28T23-30_alerts-machine-index': alertsMachineIndex,
  '2026-11-29T02-45_bouncers-auth-type': bouncersAuthType,
  '2026-11-29T03-00_bouncer-instances': bouncerInstances,
  '2026-11-29T04-00_notification-queue': notificationQueue,
  '2026-11-29T05-00_bouncer-lookups': bouncerLookups,
  '2026-11-29T06-00_allowlists': allowlists,
  '2026-11-29T06-00_usage-metrics': usageMetrics,
  '2026-12-07T22-00_drop-decision-xid-indexes': dropDecisionXidIndexes,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(migrations),
};

/** The name of the newest migration this code knows. */
export const latestMigration: string = Object.keys(migrations).sort().at(-1)!;
