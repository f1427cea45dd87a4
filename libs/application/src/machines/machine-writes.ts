import { decideMachine, type MachineCommand } from '@lapi/domain/machines/machine';
import { assertRegistrableMachine } from '@lapi/domain/machines/machine-credentials';
import { machineStreamId } from '@lapi/domain/machines/machine.events';
import { ValidationError } from '@lapi/domain/shared/errors';
import { type DomainEvent } from '@lapi/domain/shared/event';
import type { ExpectedVersion } from '@lapi/event-store';
import { loadMachineAggregate, loadMachineAggregates } from '@lapi/read-models/clients/aggregates';
import { refuseOn } from '../shared/bulk';
import type { CredentialChanges } from '../shared/credential-changes';
import { handleCommand } from '../shared/handle-command';
import { toMetadata, type CommandContext, type WriteDeps } from '../shared/ports';
import { generatePassword } from './password';
import type { PasswordHasher } from './password-hasher';

// No Nest here: the API's handlers and the admin CLI (which loads no framework) share these writes.

/** Load the machine, decide, append. */
export async function runMachineCommand(
  deps: WriteDeps,
  machineId: string,
  command: MachineCommand,
  context: CommandContext,
): Promise<void> {
  const now = deps.clock.now();
  await handleCommand(
    deps.store,
    machineStreamId(machineId),
    () => loadMachineAggregate(deps.database.db, machineId),
    (state) => decideMachine(command, state, now),
    toMetadata(context, now),
  );
}

export async function registerMachine(
  deps: WriteDeps,
  hasher: PasswordHasher,
  c: { machineId: string; password: string; ipAddress: string; validated: boolean; context: CommandContext },
): Promise<void> {
  // Before any bcrypt or database work: a bad name or an over-long password costs nothing.
  assertRegistrableMachine(c.machineId, c.password);
  const { state } = await loadMachineAggregate(deps.database.db, c.machineId);
  // bcrypt outside the pure decision: whether this is the existing machine registering again. Another
  // machine's name is refused without hashing a password it will never store.
  const sameCredentials = state !== null && (await hasher.matches(c.password, state.passwordHash));
  const passwordHash = state === null ? await hasher.hash(c.password) : state.passwordHash;
  await runMachineCommand(
    deps,
    c.machineId,
    {
      type: 'RegisterMachine',
      data: { machineId: c.machineId, passwordHash, ipAddress: c.ipAddress, validated: c.validated, sameCredentials },
    },
    c.context,
  );
}

export async function deleteMachine(
  deps: WriteDeps,
  credentials: CredentialChanges,
  machineId: string,
  context: CommandContext,
): Promise<void> {
  await runMachineCommand(deps, machineId, { type: 'DeleteMachine', data: { machineId } }, context);
  await credentials.announce({ kind: 'machine-deleted', machineId });
}

/** Deletes every machine of the list in one transaction, or none (an unknown id refuses the list, naming it). */
export async function deleteMachines(
  deps: WriteDeps,
  credentials: CredentialChanges,
  machineIds: readonly string[],
  context: CommandContext,
): Promise<void> {
  const unique = [...new Set(machineIds)];
  const now = deps.clock.now();
  const loaded = await loadMachineAggregates(deps.database.db, unique);
  const problems: string[] = [];
  const appends: { streamId: string; events: DomainEvent[]; expectedVersion: ExpectedVersion }[] = [];
  unique.forEach((machineId, i) => {
    try {
      const events = decideMachine({ type: 'DeleteMachine', data: { machineId } }, loaded[i].state, now);
      appends.push({ streamId: machineStreamId(machineId), events, expectedVersion: loaded[i].version });
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  });
  refuseOn(problems);
  if (appends.length > 0) {
    await deps.store.appendToStreams(appends, { metadata: toMetadata(context, now) });
  }
  for (const machineId of unique) {
    await credentials.announce({ kind: 'machine-deleted', machineId });
  }
}

/** A line of a `lapi machines add --from` file: a machine id, and its password (else one is generated). */
export interface MachineEntry {
  readonly name: string;
  readonly password?: string;
}

/**
 * Adds every machine, validated (an admin vouches for them, as `lapi machines add` does), in one transaction, or
 * none: a bad line or a name taken (in the database or twice in the list) refuses the whole list. Resolves with each
 * name and its password, in the list's order.
 */
export async function registerMachines(
  deps: WriteDeps,
  hasher: PasswordHasher,
  entries: readonly MachineEntry[],
  context: CommandContext,
): Promise<{ name: string; password: string }[]> {
  const problems: string[] = [];
  const seen = new Set<string>();
  const added = entries.map((entry, i) => {
    const password = entry.password ?? generatePassword();
    try {
      assertRegistrableMachine(entry.name, password);
      if (password.length === 0) {
        throw new ValidationError('the password must not be empty');
      }
      if (seen.has(entry.name)) {
        throw new ValidationError(`machine '${entry.name}' is in the list twice`);
      }
    } catch (error) {
      problems.push(`entry ${i + 1} (${entry.name}): ${error instanceof Error ? error.message : String(error)}`);
    }
    seen.add(entry.name);
    return { name: entry.name, password };
  });
  refuseOn(problems);
  const now = deps.clock.now();
  const loaded = await loadMachineAggregates(
    deps.database.db,
    added.map((a) => a.name),
  );
  // Names already taken are refused before any bcrypt work (a fresh machine cannot be "the same one again").
  refuseOn(
    added.flatMap((a, i) => {
      try {
        decideMachine(registration(a.name, '', false), loaded[i].state, now);
        return [];
      } catch (error) {
        return [`entry ${i + 1}: ${error instanceof Error ? error.message : String(error)}`];
      }
    }),
  );
  // A few at a time: the pool hashes on its threads in parallel, and the API's bounds its queue (logins wait there).
  const hashes: string[] = [];
  for (let from = 0; from < added.length; from += HASHES_IN_FLIGHT) {
    hashes.push(...(await Promise.all(added.slice(from, from + HASHES_IN_FLIGHT).map((a) => hasher.hash(a.password)))));
  }
  const appends: { streamId: string; events: DomainEvent[]; expectedVersion: ExpectedVersion }[] = added.map(
    (a, i) => ({
      streamId: machineStreamId(a.name),
      events: decideMachine(registration(a.name, hashes[i], false), loaded[i].state, now),
      expectedVersion: loaded[i].version,
    }),
  );
  if (appends.length > 0) {
    await deps.store.appendToStreams(appends, { metadata: toMetadata(context, now) });
  }
  return added;
}

const HASHES_IN_FLIGHT = 8;

const registration = (machineId: string, passwordHash: string, sameCredentials: boolean): MachineCommand => ({
  type: 'RegisterMachine',
  data: { machineId, passwordHash, ipAddress: '', validated: true, sameCredentials },
});
