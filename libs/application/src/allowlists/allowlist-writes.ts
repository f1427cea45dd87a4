import { DECISION_DELETIONS_STREAM, decisionsDeleted } from '@lapi/domain/alerts/alert.events';
import {
  decideAllowlist,
  evolveAllowlist,
  type AllowlistCommand,
  type AllowlistState,
} from '@lapi/domain/allowlists/allowlist';
import {
  allowlistStreamId,
  type AllowlistEvent,
  type AllowlistItemInput,
} from '@lapi/domain/allowlists/allowlist.events';
import { parseIpRange } from '@lapi/domain/shared/ip-range';
import { ConcurrencyError, type AppendResult, type EventStore, type ExpectedVersion } from '@lapi/event-store';
import { findDecisionsAllowlisted } from '@lapi/read-models/allowlists/allowlists.projection';
import { handleCommand } from '../shared/handle-command';
import { toMetadata, type CommandContext, type WriteDeps } from '../shared/ports';

// No Nest here: the admin CLI (which loads no framework) and the API's admin socket share these writes.

/** The allowlist folded from its stream, and the version to append at. */
export async function loadAllowlist(
  store: EventStore,
  name: string,
): Promise<{ state: AllowlistState; version: ExpectedVersion }> {
  const events = await store.readStream(allowlistStreamId(name));
  return {
    state: (events as unknown as AllowlistEvent[]).reduce(evolveAllowlist, null as AllowlistState),
    version: events.length === 0 ? 'no_stream' : events[events.length - 1].streamVersion,
  };
}

/** Load, decide, append: create, remove items, delete. Resolves with the events appended. */
export async function runAllowlistCommand(
  deps: WriteDeps,
  command: Exclude<AllowlistCommand, { type: 'AddAllowlistItems' }>,
  context: CommandContext,
): Promise<AllowlistEvent[]> {
  const now = deps.clock.now();
  return handleCommand(
    deps.store,
    allowlistStreamId(command.data.name),
    () => loadAllowlist(deps.store, command.data.name),
    (state) => decideAllowlist(command, state, now),
    toMetadata(context, now),
  );
}

export interface AllowlistAddResult {
  /** The values added (those already listed are skipped). */
  readonly added: number;
  /** The active decisions the new items cover (or lie inside), deleted with them. */
  readonly decisionsDeleted: number;
  /** What was appended, for a caller that waits until the read models show it. */
  readonly appended: readonly AppendResult[];
}

const MAX_ATTEMPTS = 3;

/**
 * Adds items to an allowlist and deletes the active decisions they cover in the same transaction (cscli ≥1.6.6
 * `allowlists add` runs ApplyAllowlistsToExistingDecisions): bouncers see those decisions in `deleted`.
 */
export async function addAllowlistItems(
  deps: WriteDeps,
  name: string,
  items: readonly AllowlistItemInput[],
  context: CommandContext,
): Promise<AllowlistAddResult> {
  const command: AllowlistCommand = { type: 'AddAllowlistItems', data: { name, items } };
  for (let attempt = 1; ; attempt++) {
    const now = deps.clock.now();
    const { state, version } = await loadAllowlist(deps.store, name);
    const events = decideAllowlist(command, state, now);
    if (events.length === 0) {
      return { added: 0, decisionsDeleted: 0, appended: [] };
    }
    const added = events.flatMap((e) => (e.type === 'AllowlistItemsAdded' ? e.data.items : []));
    const decisionIds = await findDecisionsAllowlisted(
      deps.database.db,
      added.map((i) => parseIpRange(i.value)!),
      now,
    );
    try {
      const appended = await deps.store.appendToStreams(
        [
          { streamId: allowlistStreamId(name), events, expectedVersion: version },
          ...(decisionIds.length > 0
            ? [
                {
                  streamId: DECISION_DELETIONS_STREAM,
                  events: [decisionsDeleted(decisionIds, now)],
                  expectedVersion: 'any' as const,
                },
              ]
            : []),
        ],
        { metadata: toMetadata(context, now) },
      );
      return { added: added.length, decisionsDeleted: decisionIds.length, appended };
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= MAX_ATTEMPTS) {
        throw error;
      }
    }
  }
}
