import { decideBouncer, type BouncerCommand } from '@lapi/domain/bouncers/bouncer';
import { BouncerKeyAlreadyUsedError } from '@lapi/domain/bouncers/bouncer.errors';
import { bouncerStreamId } from '@lapi/domain/bouncers/bouncer.events';
import { clientNameProblem } from '@lapi/domain/machines/machine-credentials';
import { ValidationError } from '@lapi/domain/shared/errors';
import { type DomainEvent } from '@lapi/domain/shared/event';
import type { ExpectedVersion } from '@lapi/event-store';
import {
  findBouncersByKeyHashes,
  loadBouncerAggregate,
  loadBouncerAggregates,
} from '@lapi/read-models/clients/aggregates';
import { refuseOn } from '../shared/bulk';
import type { CredentialChanges } from '../shared/credential-changes';
import { handleCommand } from '../shared/handle-command';
import { toMetadata, type CommandContext, type WriteDeps } from '../shared/ports';
import { apiKeyProblem, generateApiKey, hashApiKey } from './api-key';

// No Nest here: the API's handlers and the admin CLI (which loads no framework) share these writes.

/** Load the bouncer, decide, append. */
export async function runBouncerCommand(
  deps: WriteDeps,
  name: string,
  command: BouncerCommand,
  context: CommandContext,
): Promise<void> {
  const now = deps.clock.now();
  await handleCommand(
    deps.store,
    bouncerStreamId(name),
    () => loadBouncerAggregate(deps.database.db, name),
    (state) => decideBouncer(command, state, now),
    toMetadata(context, now),
  );
}

/** Adds a bouncer with the given key, or a generated one; resolves with the key (shown once, never stored). */
export async function addBouncer(
  deps: WriteDeps,
  name: string,
  apiKey: string | undefined,
  context: CommandContext,
): Promise<string> {
  const key = apiKey ?? generateApiKey();
  const problem = apiKeyProblem(key);
  if (problem) {
    throw new ValidationError(problem);
  }
  const apiKeyHash = hashApiKey(key);
  // A key identifies one bouncer: a second bouncer with the same key would be indistinguishable on the wire.
  if ((await findBouncersByKeyHashes(deps.database.db, [apiKeyHash])).length > 0) {
    throw new BouncerKeyAlreadyUsedError();
  }
  await runBouncerCommand(deps, name, { type: 'AddBouncer', data: { name, apiKeyHash } }, context);
  return key;
}

export async function deleteBouncer(
  deps: WriteDeps,
  credentials: CredentialChanges,
  name: string,
  context: CommandContext,
): Promise<void> {
  await runBouncerCommand(deps, name, { type: 'DeleteBouncer', data: { name } }, context);
  await credentials.announce({ kind: 'bouncer-deleted', name });
}

/** A line of a `lapi bouncers add --from` file: a name, and the key to give it (else one is generated). */
export interface BouncerEntry {
  readonly name: string;
  readonly key?: string;
}

/**
 * Adds every bouncer in one transaction, or none: a bad line, a name or key taken (in the database or twice in the
 * list) refuses the whole list. Resolves with each name and its key, in the list's order.
 */
export async function addBouncers(
  deps: WriteDeps,
  entries: readonly BouncerEntry[],
  context: CommandContext,
): Promise<{ name: string; key: string }[]> {
  const problems: string[] = [];
  const names = new Set<string>();
  const hashes = new Set<string>();
  const added = entries.map((entry, i) => {
    const key = entry.key ?? generateApiKey();
    const problem =
      clientNameProblem(entry.name) ??
      apiKeyProblem(key) ??
      (names.has(entry.name) ? `bouncer '${entry.name}' is in the list twice` : null) ??
      (hashes.has(hashApiKey(key)) ? 'this API key is in the list twice' : null);
    if (problem !== null) {
      problems.push(`entry ${i + 1} (${entry.name}): ${problem}`);
    }
    names.add(entry.name);
    hashes.add(hashApiKey(key));
    return { name: entry.name, key, apiKeyHash: hashApiKey(key) };
  });
  refuseOn(problems);
  const used = new Set(
    (
      await findBouncersByKeyHashes(
        deps.database.db,
        added.map((a) => a.apiKeyHash),
      )
    ).map((b) => b.apiKeyHash),
  );
  refuseOn(
    added.flatMap((a, i) =>
      used.has(a.apiKeyHash) ? [`entry ${i + 1} (${a.name}): ${new BouncerKeyAlreadyUsedError().message}`] : [],
    ),
  );
  await appendAll(
    deps,
    added.map((a) => a.name),
    (name, i) => ({ type: 'AddBouncer', data: { name, apiKeyHash: added[i].apiKeyHash } }),
    context,
  );
  return added.map(({ name, key }) => ({ name, key }));
}

/** Deletes every bouncer of the list in one transaction, or none (an unknown name refuses the list). */
export async function deleteBouncers(
  deps: WriteDeps,
  credentials: CredentialChanges,
  names: readonly string[],
  context: CommandContext,
): Promise<void> {
  const unique = [...new Set(names)];
  await appendAll(deps, unique, (name) => ({ type: 'DeleteBouncer', data: { name } }), context);
  for (const name of unique) {
    await credentials.announce({ kind: 'bouncer-deleted', name });
  }
}

/** Decides the command for each bouncer on its current state, then appends all the streams in one transaction. */
async function appendAll(
  deps: WriteDeps,
  names: readonly string[],
  command: (name: string, index: number) => BouncerCommand,
  context: CommandContext,
): Promise<void> {
  const now = deps.clock.now();
  const appends: { streamId: string; events: DomainEvent[]; expectedVersion: ExpectedVersion }[] = [];
  const problems: string[] = [];
  const loaded = await loadBouncerAggregates(deps.database.db, names);
  names.forEach((name, i) => {
    try {
      const events = decideBouncer(command(name, i), loaded[i].state, now);
      appends.push({ streamId: bouncerStreamId(name), events, expectedVersion: loaded[i].version });
    } catch (error) {
      problems.push(`entry ${i + 1}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  refuseOn(problems);
  if (appends.length > 0) {
    await deps.store.appendToStreams(appends, { metadata: toMetadata(context, now) });
  }
}
