import type { AlertInput, Bouncer, Machine } from '@lapi/domain';
import { positionTimes } from '@lapi/projections/bouncer-positions';
import { listBouncers, listMachines } from '@lapi/projections/queries';
import type { CommandBus, QueryBus } from '@nestjs/cqrs';
import { addBouncer, addBouncers, deleteBouncer, deleteBouncers, type BouncerEntry } from '../bouncers/bouncer-writes';
import type { ImportedDecision, ImportOptions } from '../decisions/import-decisions';
import { ADMIN_MACHINE, manualDecisionAlert, type ManualDecision } from '../decisions/manual-decision';
import {
  deleteMachine,
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
  | { op: 'machines.prune'; notSeenMs: number; notValidatedOnly: boolean; force: boolean }
  | { op: 'bouncers.add'; name: string; key?: string }
  | { op: 'bouncers.addMany'; entries: BouncerEntry[] }
  | { op: 'bouncers.list' }
  | { op: 'bouncers.positions'; keys: string[] }
  | { op: 'bouncers.delete'; name: string }
  | { op: 'bouncers.deleteMany'; names: string[] }
  | { op: 'decisions.add'; decision: ManualDecision }
  | { op: 'decisions.import'; rows: ImportedDecision[]; options: ImportOptions }
  /** One part of an import sent in parts: `at` rows were sent before it. */
  | { op: 'decisions.importPart'; importId: string; at: number; rows: ImportedDecision[]; options: ImportOptions }
  /** Stores every part of the import, or none of them. */
  | { op: 'decisions.importCommit'; importId: string }
  | { op: 'notifications.status'; deadLimit: number };

export interface AdminResults {
  'machines.add': null;
  /** Each machine added and its password, in the list's order. */
  'machines.addMany': { name: string; password: string }[];
  'machines.list': Machine[];
  'machines.validate': null;
  'machines.delete': null;
  /** The machines pruned, or that would be without `force`. */
  'machines.prune': string[];
  'bouncers.add': { key: string };
  /** Each bouncer added and its key, in the list's order. */
  'bouncers.addMany': { name: string; key: string }[];
  'bouncers.list': Bouncer[];
  'bouncers.positions': Record<string, string>;
  'bouncers.delete': null;
  'bouncers.deleteMany': null;
  /** The id of the alert carrying the decision. */
  'decisions.add': string;
  /** How many decisions were imported. */
  'decisions.import': number;
  /** The rows accepted so far (checked, kept until the commit). */
  'decisions.importPart': number;
  /** How many decisions were imported. */
  'decisions.importCommit': number;
  'notifications.status': NotificationsStatus;
}

/** Where an admin request runs: the server's own parts, or the CLI's, built without Nest. */
export interface AdminContext {
  readonly deps: WriteDeps;
  readonly credentials: CredentialChanges;
  /** bcrypt, asked for only by the requests that hash a password (a pool starts threads). */
  hasher(): PasswordHasher;
  /** Stores alerts (with their decisions) from the admin, all in one transaction; resolves with their ids. */
  pushAlerts(machineId: string, alerts: AlertInput[], context: CommandContext): Promise<string[]>;
  /** Nest's buses, for the requests whose handlers only Nest builds (prune, import): the CLI loads it for them. */
  buses(): Promise<{ commands: CommandBus; queries: QueryBus }>;
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
      return Object.fromEntries(await positionTimes(deps.database.db, request.keys));
    case 'bouncers.delete':
      await deleteBouncer(deps, admin.credentials, request.name, ctx);
      return null;
    case 'bouncers.deleteMany':
      await deleteBouncers(deps, admin.credentials, request.names, ctx);
      return null;
    case 'decisions.add': {
      const [id] = await admin.pushAlerts(
        ADMIN_MACHINE,
        [manualDecisionAlert(request.decision, deps.clock.now())],
        ctx,
      );
      return id;
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
  }
}
