import type { DomainEvent, EventMetadata } from '@lapi/domain';
import { ConcurrencyError, type EventStore, type ExpectedVersion } from '@lapi/event-store';

// A conflict means another replica changed the stream between our read and our append: decide again on fresh state.
const MAX_ATTEMPTS = 3;

/**
 * Load → decide → append with the loaded version, retried on conflict (emmett's CommandHandler).
 * Returns the events appended (none when the decision was a no-op).
 */
export async function handleCommand<S, E extends DomainEvent>(
  store: EventStore,
  streamId: string,
  load: () => Promise<{ state: S; version: ExpectedVersion }>,
  decide: (state: S) => E[],
  metadata: EventMetadata,
): Promise<E[]> {
  for (let attempt = 1; ; attempt++) {
    const { state, version } = await load();
    const events = decide(state);
    if (events.length === 0) {
      return events;
    }
    try {
      await store.appendToStream(streamId, events, { expectedVersion: version, metadata });
      return events;
    } catch (error) {
      if (!(error instanceof ConcurrencyError) || attempt >= MAX_ATTEMPTS) {
        throw error;
      }
    }
  }
}
