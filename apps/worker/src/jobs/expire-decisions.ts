import { DECISION_EXPIRIES_STREAM, decisionsExpired } from '@lapi/domain';
import type { EventStore } from '@lapi/event-store';
import type { RedisDecisionsTarget, RedisProjectionBarrier } from '@lapi/read-models';

// Ids per event: bounded events, and a sweep of a million expiries is a thousand appends.
const BATCH = 1_000;

/**
 * Run by one sweeper at a time (a lease, see runExclusive): a sweep longer than its tick must not overlap the next.
 * Records in the log every decision whose `until` has passed (DecisionsExpired), in batches, each waiting until
 * the projection has taken its ids out of the expiry index. Bouncers do not depend on it: an expired decision is
 * already out of every answer; the log just tells when each ban ended.
 */
export async function expireDecisions(
  target: Pick<RedisDecisionsTarget, 'dueExpiries'>,
  store: EventStore,
  barrier: RedisProjectionBarrier,
  now: Date,
  /** Renews the sweeper's lease; false when another sweeper took over (this one stops before writing). */
  stillLeader: () => Promise<boolean> = () => Promise.resolve(true),
): Promise<number> {
  const recorded = new Set<number>();
  for (;;) {
    const ids = (await target.dueExpiries(now.getTime(), BATCH)).filter((id) => !recorded.has(id));
    if (ids.length === 0) {
      // Nothing left, or only ids recorded in this run that the projection has not applied yet: next sweep.
      return recorded.size;
    }
    if (!(await stillLeader())) {
      return recorded.size;
    }
    const appended = await store.appendToStream(DECISION_EXPIRIES_STREAM, [decisionsExpired(ids, now)], {
      expectedVersion: 'any',
      metadata: { actor: { kind: 'system', id: 'expiry-sweep' }, at: now.toISOString() },
    });
    ids.forEach((id) => recorded.add(id));
    await barrier.waitFor([appended]);
  }
}
