import type { Bouncer, Machine } from '@lapi/domain';
import type { CommandBus, QueryBus } from '@nestjs/cqrs';
import { AddBouncer, DeleteBouncer, ListBouncers, StreamPositionTimes } from '../bouncers/bouncer.commands';
import { ImportDecisions, type ImportedDecision, type ImportOptions } from '../decisions/import-decisions';
import { DeleteMachine, ListMachines, RegisterMachine, ValidateMachine } from '../machines/machine.commands';
import { PruneMachines } from '../machines/prune-machines';
import { cliContext } from '../shared/ports';

/** What the admin CLI can ask, whether it runs the command itself or hands it to the running server. */
export type AdminRequest =
  | { op: 'machines.add'; name: string; password: string }
  | { op: 'machines.list' }
  | { op: 'machines.validate'; name: string }
  | { op: 'machines.delete'; name: string }
  | { op: 'machines.prune'; notSeenMs: number; notValidatedOnly: boolean; force: boolean }
  | { op: 'bouncers.add'; name: string; key?: string }
  | { op: 'bouncers.list' }
  | { op: 'bouncers.positions'; keys: string[] }
  | { op: 'bouncers.delete'; name: string }
  | { op: 'decisions.import'; rows: ImportedDecision[]; options: ImportOptions };

export interface AdminResults {
  'machines.add': null;
  'machines.list': Machine[];
  'machines.validate': null;
  'machines.delete': null;
  /** The machines pruned, or that would be without `force`. */
  'machines.prune': string[];
  'bouncers.add': { key: string };
  'bouncers.list': Bouncer[];
  'bouncers.positions': Record<string, string>;
  'bouncers.delete': null;
  /** How many decisions were imported. */
  'decisions.import': number;
}

/** Runs one admin request through the same command and query handlers the API uses. */
export async function runAdminRequest(
  request: AdminRequest,
  buses: { commands: CommandBus; queries: QueryBus },
): Promise<AdminResults[AdminRequest['op']]> {
  const ctx = cliContext();
  switch (request.op) {
    case 'machines.add':
      // An admin vouches for the machine: it is validated at once, like `cscli machines add`.
      await buses.commands.execute(new RegisterMachine(request.name, request.password, '', true, ctx));
      return null;
    case 'machines.list':
      return buses.queries.execute(new ListMachines());
    case 'machines.validate':
      await buses.commands.execute(new ValidateMachine(request.name, ctx));
      return null;
    case 'machines.delete':
      await buses.commands.execute(new DeleteMachine(request.name, ctx));
      return null;
    case 'machines.prune':
      return buses.commands.execute(
        new PruneMachines(
          { notSeenMs: request.notSeenMs, notValidatedOnly: request.notValidatedOnly },
          request.force,
          ctx,
        ),
      );
    case 'bouncers.add':
      return { key: await buses.commands.execute(new AddBouncer(request.name, request.key, ctx)) };
    case 'bouncers.list':
      return buses.queries.execute(new ListBouncers());
    case 'bouncers.positions':
      return buses.queries.execute(new StreamPositionTimes(request.keys));
    case 'bouncers.delete':
      await buses.commands.execute(new DeleteBouncer(request.name, ctx));
      return null;
    case 'decisions.import':
      return buses.commands.execute(new ImportDecisions(request.rows, request.options, ctx));
  }
}
