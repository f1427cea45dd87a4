import {
  decideMachine,
  isPrunableMachine,
  machineStreamId,
  type EventMetadata,
  type Machine,
  type MachinePruneRule,
} from '@lapi/domain';
import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { loadMachineAggregate, machinesNotSeenSince } from '@lapi/read-models';
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CREDENTIAL_CHANGES, type CredentialChanges } from '../shared/credential-changes';
import { handleCommand } from '../shared/handle-command';
import { CLOCK, DATABASE, toMetadata, type Clock, type CommandContext } from '../shared/ports';

/**
 * Deletes the machines the rule selects, each with a MachineDeleted event through its decider; the rule is checked
 * again on the state the deletion is decided on, so a machine that logged in since the query is kept. `dryRun`
 * deletes nothing. Resolves with the ids selected (deleted unless dry run), by name.
 */
export async function pruneMachines(
  deps: {
    readonly database: DatabaseHandle;
    readonly store: EventStore;
    readonly credentials: CredentialChanges;
    readonly stillLeader?: () => Promise<boolean>;
  },
  rule: MachinePruneRule,
  now: Date,
  metadata: EventMetadata,
  options: { dryRun?: boolean } = {},
): Promise<{ machines: string[]; completed: boolean }> {
  const db = deps.database.db;
  const machines: string[] = [];
  for (const candidate of await machinesNotSeenSince(db, new Date(now.getTime() - rule.notSeenMs))) {
    if (!isPrunableMachine(candidate, rule, now)) {
      continue;
    }
    if (options.dryRun) {
      machines.push(candidate.machineId);
      continue;
    }
    if (deps.stillLeader && !(await deps.stillLeader())) {
      return { machines, completed: false };
    }
    const { machineId } = candidate;
    if (
      await deleteMachineIf(deps, machineId, (state) => isPrunableMachine(pruneFacts(state), rule, now), now, metadata)
    ) {
      machines.push(machineId);
    }
  }
  return { machines, completed: true };
}

/**
 * Deletes a machine (a MachineDeleted event through its decider) if `stillDue` holds on its state as stored now: a
 * machine a query selected may have logged in since. True when it was deleted (and announced).
 */
export async function deleteMachineIf(
  deps: { readonly database: DatabaseHandle; readonly store: EventStore; readonly credentials: CredentialChanges },
  machineId: string,
  stillDue: (state: Machine) => boolean,
  now: Date,
  metadata: EventMetadata,
): Promise<boolean> {
  const events = await handleCommand(
    deps.store,
    machineStreamId(machineId),
    () => loadMachineAggregate(deps.database.db, machineId),
    (state) =>
      state && stillDue(state) ? decideMachine({ type: 'DeleteMachine', data: { machineId } }, state, now) : [],
    metadata,
  );
  if (events.length === 0) {
    return false;
  }
  await deps.credentials.announce({ kind: 'machine-deleted', machineId });
  return true;
}

const pruneFacts = (m: Machine) => ({
  ipAddress: m.ipAddress,
  validated: m.validated,
  lastHeartbeat: m.lastHeartbeat === null ? null : new Date(m.lastHeartbeat),
  updatedAt: new Date(m.updatedAt),
});

/** `lapi machines prune`: resolves with the machines pruned, or only listed when `force` is false. */
export class PruneMachines extends Command<string[]> {
  constructor(
    readonly rule: MachinePruneRule,
    readonly force: boolean,
    readonly context: CommandContext,
  ) {
    super();
  }
}

@CommandHandler(PruneMachines)
export class PruneMachinesHandler implements ICommandHandler<PruneMachines> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CREDENTIAL_CHANGES) private readonly credentials: CredentialChanges,
  ) {}

  async execute(c: PruneMachines): Promise<string[]> {
    const now = this.clock.now();
    const { machines } = await pruneMachines(
      { database: this.database, store: this.store, credentials: this.credentials },
      c.rule,
      now,
      toMetadata(c.context, now),
      { dryRun: !c.force },
    );
    return machines;
  }
}
