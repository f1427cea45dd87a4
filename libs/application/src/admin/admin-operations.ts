import type { AlertInput, Allowlist, AllowlistItemInput, Bouncer, CrowdsecAlert, Machine } from '@lapi/domain';
import { AllowlistNotFoundError } from '@lapi/domain/allowlists/allowlist.errors';
import { inactiveBouncers } from '@lapi/domain/bouncers/bouncer';
import { ValidationError } from '@lapi/domain/shared/errors';
import type { AppendResult } from '@lapi/event-store';
import type { AlertResponse } from '@lapi/lapi-contract';
import { findAllowlist, listAllowlists } from '@lapi/read-models/allowlists/allowlists.projection';
import { positionTimes } from '@lapi/read-models/bouncers/bouncer-positions';
import { listBouncers, listMachines } from '@lapi/read-models/clients/listings';
import { listUsageReports, type StoredUsageReport } from '@lapi/read-models/usage-metrics/usage-metrics.projection';
import type { CommandBus, QueryBus } from '@nestjs/cqrs';
import { deleteAlerts, inspectAlert, listAlerts, type AlertsCliFilter } from '../alerts/alert-admin';
import { checkAllowlisted, refuseAllowlisted } from '../allowlists/allowlist-checks';
import { addAllowlistItems, runAllowlistCommand } from '../allowlists/allowlist-writes';
import { addBouncer, addBouncers, deleteBouncer, deleteBouncers, type BouncerEntry } from '../bouncers/bouncer-writes';
import type { CrowdsecImportOptions, CrowdsecImportReport, CrowdsecSnapshot } from '../crowdsec-import/crowdsec-import';
import { deleteDecisionById, deleteDecisionsWhere, type DecisionDeletion } from '../decisions/decision-deletions';
import {
  decisionDeleteFilter,
  listDecisionAlerts,
  type DecisionDeleteOptions,
  type DecisionListOptions,
} from '../decisions/decision-listing';
import type { ImportedDecision, ImportOptions } from '../decisions/import-decisions';
import { ADMIN_MACHINE, manualDecisionAlert, type ManualDecision } from '../decisions/manual-decision';
import {
  deleteMachine,
  deleteMachines,
  registerMachine,
  registerMachines,
  runMachineCommand,
  type MachineEntry,
} from '../machines/machine-writes';
import type { PasswordHasher } from '../machines/password-hasher';
import type { NotificationsStatus } from '../notifications/notifications-status';
import type { CredentialChanges } from '../shared/credential-changes';
import { cliContext, type CommandContext, type WriteDeps } from '../shared/ports';

// This file loads no Nest at run time (type imports only): the admin CLI runs it in a process that answers in the
// time cscli does (issue #18). Only prune and import go through Nest's buses, which the CLI then loads.

/** What the admin CLI can ask, whether it runs the command itself or hands it to the running server. */
export type AdminRequest =
  | { op: 'machines.add'; name: string; password: string }
  | { op: 'machines.addMany'; entries: MachineEntry[] }
  | { op: 'machines.list' }
  | { op: 'machines.validate'; name: string }
  | { op: 'machines.delete'; name: string }
  | { op: 'machines.deleteMany'; names: string[] }
  | { op: 'machines.prune'; notSeenMs: number; notValidatedOnly: boolean; force: boolean }
  | { op: 'bouncers.add'; name: string; key?: string }
  | { op: 'bouncers.addMany'; entries: BouncerEntry[] }
  | { op: 'bouncers.list' }
  | { op: 'bouncers.positions'; keys: string[] }
  | { op: 'bouncers.delete'; name: string }
  | { op: 'bouncers.deleteMany'; names: string[] }
  /**
   * The bouncers that pulled nothing for `notPulledMs`, deleted with `force`. `pulls`: the last pulls by position
   * key, as `bouncers list` reads them (in a cluster from Redis, which only the caller reaches).
   */
  | { op: 'bouncers.prune'; notPulledMs: number; force: boolean; pulls: Record<string, string> }
  | { op: 'decisions.add'; decision: ManualDecision }
  | { op: 'decisions.list'; filter: DecisionListOptions }
  /** By id, or by filter; an empty filter only with `all`. */
  | { op: 'decisions.delete'; filter: DecisionDeleteOptions; id?: number; all: boolean }
  | { op: 'decisions.import'; rows: ImportedDecision[]; options: ImportOptions }
  | { op: 'notifications.status'; deadLimit: number }
  | { op: 'allowlists.create'; name: string; description: string }
  | { op: 'allowlists.add'; name: string; items: AllowlistItemInput[] }
  | { op: 'allowlists.remove'; name: string; values: string[] }
  | { op: 'allowlists.delete'; name: string }
  | { op: 'allowlists.list' }
  | { op: 'allowlists.inspect'; name: string }
  | { op: 'allowlists.check'; values: string[] }
  | { op: 'metrics.usage' }
  /** `limit` 0: all of them. */
  | { op: 'alerts.list'; filter: AlertsCliFilter; limit: number }
  | { op: 'alerts.inspect'; id: number }
  /** An empty filter deletes every alert. */
  | { op: 'alerts.delete'; filter: AlertsCliFilter }
  | { op: 'alerts.deleteOne'; id: number }
  /** The retention's flush, once, with these limits (absent: not applied). */
  | { op: 'alerts.flush'; maxItems?: number; maxAgeMs?: number }
  /** One part of an import sent in parts: `at` rows were sent before it. */
  | { op: 'decisions.importPart'; importId: string; at: number; rows: ImportedDecision[]; options: ImportOptions }
  /** Stores every part of the import, or none of them. */
  | { op: 'decisions.importCommit'; importId: string }
  /** Alerts of a CrowdSec import sent in parts: `at` alerts were sent before this part. */
  | { op: 'crowdsec.importPart'; importId: string; at: number; alerts: CrowdsecAlert[] }
  /** Imports from CrowdSec in one transaction: these, and the alerts sent in parts under `importId` if given. */
  | {
      op: 'crowdsec.import';
      importId?: string;
      snapshot: Omit<CrowdsecSnapshot, 'alerts'>;
      options: CrowdsecImportOptions;
    };

export interface AdminResults {
  'machines.add': null;
  /** Each machine added and its password, in the list's order. */
  'machines.addMany': { name: string; password: string }[];
  'machines.list': Machine[];
  'machines.validate': null;
  'machines.delete': null;
  'machines.deleteMany': null;
  /** The machines pruned, or that would be without `force`. */
  'machines.prune': string[];
  'bouncers.add': { key: string };
  /** Each bouncer added and its key, in the list's order. */
  'bouncers.addMany': { name: string; key: string }[];
  'bouncers.list': Bouncer[];
  'bouncers.positions': Record<string, string>;
  'bouncers.delete': null;
  'bouncers.deleteMany': null;
  /** The bouncers pruned, or that would be without `force`, with their last pull (null: never). */
  'bouncers.prune': { name: string; lastPull: string | null }[];
  /** The id of the alert carrying the decision. */
  'decisions.add': string;
  /** The alerts with an active decision, newest first, as GET /v1/alerts answers them (active decisions only). */
  'decisions.list': AlertResponse[];
  /** How many decisions were deleted. */
  'decisions.delete': number;
  /** How many decisions were imported. */
  'decisions.import': number;
  /** The rows accepted so far (checked, kept until the commit). */
  'decisions.importPart': number;
  /** How many decisions were imported. */
  'decisions.importCommit': number;
  'notifications.status': NotificationsStatus;
  'allowlists.create': null;
  'allowlists.add': { added: number; decisionsDeleted: number };
  /** How many values were removed. */
  'allowlists.remove': number;
  'allowlists.delete': null;
  /** Every list with all its items (expired ones included: the caller drops them with activeItems). */
  'allowlists.list': Allowlist[];
  'allowlists.inspect': Allowlist;
  /** Per value, why it is allowlisted (empty: it is not). */
  'allowlists.check': { value: string; reasons: string[] }[];
  /** The usage reports kept, oldest first. */
  'metrics.usage': StoredUsageReport[];
  /** The alerts received so far. */
  'crowdsec.importPart': number;
  'crowdsec.import': CrowdsecImportReport;
  /** Newest first, as GET /v1/alerts answers them. */
  'alerts.list': AlertResponse[];
  /** As GET /v1/alerts/:id answers it; null when there is no such alert. */
  'alerts.inspect': AlertResponse | null;
  /** How many alerts were deleted. */
  'alerts.delete': number;
  'alerts.deleteOne': number;
  /** How many alerts were flushed for their age, and for being over the count. */
  'alerts.flush': { byAge: number; byCount: number };
}

/** Where an admin request runs: the server's own parts, or the CLI's, built without Nest. */
export interface AdminContext {
  readonly deps: WriteDeps;
  readonly credentials: CredentialChanges;
  /** bcrypt, asked for only by the requests that hash a password (a pool starts threads). */
  hasher(): PasswordHasher;
  /** Stores alerts (with their decisions) from the admin, all in one transaction; resolves with their ids. */
  pushAlerts(machineId: string, alerts: AlertInput[], context: CommandContext): Promise<string[]>;
  /** Waits until the read models bouncers are served from show what was appended (the API's projection barrier). */
  settle(appended: readonly Pick<AppendResult, 'transactionId' | 'lastPosition'>[]): Promise<void>;
  /** Nest's buses, for the requests whose handlers only Nest builds (prune, import): the CLI loads it for them. */
  buses(): Promise<{ commands: CommandBus; queries: QueryBus }>;
  /** Writes the bouncers' pull times noted in memory (once a minute otherwise), before they are listed. */
  flushPullTimes(): Promise<void>;
}

/** Runs one admin request through the same writes and queries the API uses. */
export async function runAdminRequest(
  request: AdminRequest,
  admin: AdminContext,
): Promise<AdminResults[AdminRequest['op']]> {
  const ctx = cliContext();
  const { deps } = admin;
  switch (request.op) {
    case 'machines.add':
      // An admin vouches for the machine: it is validated at once, like `cscli machines add`.
      await registerMachine(deps, admin.hasher(), {
        machineId: request.name,
        password: request.password,
        ipAddress: '',
        validated: true,
        context: ctx,
      });
      return null;
    case 'machines.addMany':
      return registerMachines(deps, admin.hasher(), request.entries, ctx);
    case 'machines.list':
      return listMachines(deps.database.db);
    case 'machines.validate':
      await runMachineCommand(deps, request.name, { type: 'ValidateMachine', data: { machineId: request.name } }, ctx);
      return null;
    case 'machines.delete':
      await deleteMachine(deps, admin.credentials, request.name, ctx);
      return null;
    case 'machines.deleteMany':
      await deleteMachines(deps, admin.credentials, request.names, ctx);
      return null;
    case 'machines.prune': {
      const [{ PruneMachines }, buses] = await Promise.all([import('../machines/prune-machines'), admin.buses()]);
      return buses.commands.execute(
        new PruneMachines(
          { notSeenMs: request.notSeenMs, notValidatedOnly: request.notValidatedOnly },
          request.force,
          ctx,
        ),
      );
    }
    case 'bouncers.add':
      return { key: await addBouncer(deps, request.name, request.key, ctx) };
    case 'bouncers.addMany':
      return addBouncers(deps, request.entries, ctx);
    case 'bouncers.list':
      return listBouncers(deps.database.db);
    case 'bouncers.positions':
      await admin.flushPullTimes();
      return Object.fromEntries(await positionTimes(deps.database.db, request.keys));
    case 'bouncers.delete':
      await deleteBouncer(deps, admin.credentials, request.name, ctx);
      return null;
    case 'bouncers.deleteMany':
      await deleteBouncers(deps, admin.credentials, request.names, ctx);
      return null;
    case 'bouncers.prune': {
      const since = new Date(deps.clock.now().getTime() - request.notPulledMs);
      const stale = inactiveBouncers(
        await listBouncers(deps.database.db),
        new Map(Object.entries(request.pulls)),
        since,
      );
      if (request.force && stale.length > 0) {
        await deleteBouncers(
          deps,
          admin.credentials,
          stale.map((b) => b.name),
          ctx,
        );
      }
      return stale;
    }
    case 'decisions.add': {
      const alert = manualDecisionAlert(request.decision, deps.clock.now());
      for (const d of alert.decisions ?? []) {
        await refuseAllowlisted(deps.database.db, d.scope, d.value, deps.clock.now());
      }
      const [id] = await admin.pushAlerts(ADMIN_MACHINE, [alert], ctx);
      return id;
    }
    case 'decisions.list':
      return listDecisionAlerts(deps.database, request.filter, deps.clock.now());
    case 'decisions.delete': {
      const filter = decisionDeleteFilter(request.filter);
      let deletion: DecisionDeletion;
      if (request.id !== undefined) {
        deletion = await deleteDecisionById(deps, request.id, ctx);
      } else if (!request.all && Object.keys(filter).every((k) => k === 'contains')) {
        // cscli's PreRun: nothing selected is not taken for everything.
        throw new ValidationError('At least one filter or --all must be specified');
      } else {
        deletion = await deleteDecisionsWhere(deps, filter, ctx);
      }
      await admin.settle(deletion.appended);
      return deletion.deleted;
    }
    case 'decisions.import': {
      const [{ ImportDecisions }, buses] = await Promise.all([import('../decisions/import-decisions'), admin.buses()]);
      return buses.commands.execute(new ImportDecisions(request.rows, request.options, ctx));
    }
    case 'decisions.importPart': {
      const { importParts } = await import('../decisions/import-parts');
      return importParts.add(request.importId, request.at, request.rows, request.options);
    }
    case 'decisions.importCommit': {
      const [{ importParts }, { importAlerts, IMPORT_MACHINE }] = await Promise.all([
        import('../decisions/import-parts'),
        import('../decisions/import-decisions'),
      ]);
      const decisions = importParts.take(request.importId);
      if (decisions.length > 0) {
        // One pushAlerts: one transaction, as ImportDecisions.
        await admin.pushAlerts(IMPORT_MACHINE, importAlerts(decisions, deps.clock.now()), ctx);
      }
      return decisions.length;
    }
    case 'notifications.status': {
      const { databaseNotificationsStatus } = await import('../notifications/notifications-status');
      return databaseNotificationsStatus(deps, request.deadLimit);
    }
    case 'allowlists.create':
      await runAllowlistCommand(
        deps,
        { type: 'CreateAllowlist', data: { name: request.name, description: request.description } },
        ctx,
      );
      return null;
    case 'allowlists.add': {
      const { added, decisionsDeleted, appended } = await addAllowlistItems(deps, request.name, request.items, ctx);
      await admin.settle(appended);
      return { added, decisionsDeleted };
    }
    case 'allowlists.remove': {
      const events = await runAllowlistCommand(
        deps,
        { type: 'RemoveAllowlistItems', data: { name: request.name, values: request.values } },
        ctx,
      );
      return events.reduce((n, e) => n + (e.type === 'AllowlistItemsRemoved' ? e.data.values.length : 0), 0);
    }
    case 'allowlists.delete':
      await runAllowlistCommand(deps, { type: 'DeleteAllowlist', data: { name: request.name } }, ctx);
      return null;
    case 'allowlists.list':
      return listAllowlists(deps.database.db);
    case 'allowlists.inspect': {
      const list = await findAllowlist(deps.database.db, request.name);
      if (!list) {
        throw new AllowlistNotFoundError(request.name);
      }
      return list;
    }
    case 'allowlists.check': {
      const now = deps.clock.now();
      const results: { value: string; reasons: string[] }[] = [];
      for (const value of request.values) {
        results.push({ value, reasons: await checkAllowlisted(deps.database.db, value, now) });
      }
      return results;
    }
    case 'metrics.usage':
      return listUsageReports(deps.database.db, deps.clock.now());
    case 'crowdsec.importPart': {
      const { crowdsecImportParts } = await import('../crowdsec-import/crowdsec-import');
      return crowdsecImportParts.add(request.importId, request.at, request.alerts);
    }
    case 'crowdsec.import': {
      const { crowdsecImportParts, importCrowdsec } = await import('../crowdsec-import/crowdsec-import');
      const alerts = request.importId === undefined ? [] : crowdsecImportParts.take(request.importId);
      const { report, appended } = await importCrowdsec(deps, { ...request.snapshot, alerts }, request.options, ctx);
      // Bouncers pull what was imported from their next request on.
      await admin.settle(appended);
      return report;
    }
    case 'alerts.list':
      return listAlerts(deps, request.filter, request.limit);
    case 'alerts.inspect':
      return inspectAlert(deps, request.id);
    case 'alerts.delete':
    case 'alerts.deleteOne': {
      const target = request.op === 'alerts.delete' ? { filter: request.filter } : { id: request.id };
      const { deleted, appended } = await deleteAlerts(deps, target, ctx);
      // Bouncers are served from the read models: the deleted decisions are in their next pull's `deleted`.
      await admin.settle(appended);
      return deleted;
    }
    case 'alerts.flush': {
      const { flushAlerts } = await import('../retention/retention');
      const { byAge, byCount } = await flushAlerts(
        {
          database: deps.database,
          store: deps.store,
          barrier: { waitFor: (appended) => admin.settle(appended) },
          credentials: admin.credentials,
        },
        { maxItems: request.maxItems, maxAgeMs: request.maxAgeMs },
        deps.clock.now(),
      );
      return { byAge, byCount };
    }
  }
}
