import type { LookupTimes, MemoryDecisions, SqlStreamPositions } from '@lapi/read-models';
import { answerOf, type DecisionReader } from './decision-reader';

/**
 * How far behind the log (ms) a bouncer read may be about other processes' writes, with PostgreSQL alone (`lapi`
 * writing to the database, or another API process). This process's own writes wait for the index before they are
 * answered, so they are seen by the next request whatever the bound; under load one read of the log per bound is
 * shared by the requests that arrive while it runs, instead of one per request.
 */
export const OTHER_WRITES_VISIBLE_WITHIN_MS = 50;

/**
 * Bouncers read the in-memory index this process projects from the event log (embedded mode, or PostgreSQL
 * without Redis). `followLog`: other processes may write the log (PostgreSQL), so a read first catches up with it
 * when the index may be more than OTHER_WRITES_VISIBLE_WITHIN_MS behind; otherwise this process makes every write
 * and its writes wait for the index, so reads touch no database.
 */
export const memoryDecisionReader = (
  decisions: MemoryDecisions,
  positions: SqlStreamPositions,
  lookups: LookupTimes,
  options: { followLog: boolean },
): DecisionReader => ({
  lookedUp: (bouncer, at) => lookups.note(bouncer, at.getTime()),
  flushPullTimes: async () => {
    await positions.flush();
    await lookups.flush();
  },
  forget: (bouncer) => {
    positions.forget(bouncer);
    lookups.forget(bouncer);
    return Promise.resolve();
  },
  async find(filter, now) {
    if (options.followLog && !decisions.freshWithin(OTHER_WRITES_VISIBLE_WITHIN_MS)) {
      await decisions.syncWithin(OTHER_WRITES_VISIBLE_WITHIN_MS);
    }
    return decisions.find(filter, now.getTime());
  },
  async pull(bouncer, filter, { startup, dedup }, now) {
    // A bouncer that never pulled gets everything, as with startup (reference: last_pull NULL has no lower bound).
    const cursor = startup ? null : await positions.load(bouncer);
    if (options.followLog && !decisions.freshWithin(OTHER_WRITES_VISIBLE_WITHIN_MS)) {
      await decisions.syncWithin(OTHER_WRITES_VISIBLE_WITHIN_MS);
    }
    // Never judged before the previous pull: the expiries it reported are not reported again.
    const at = Math.max(now().getTime(), cursor?.pulledAt ?? 0);
    const page = decisions.pull(filter, dedup, cursor, at);
    const changed = page.full || page.new.length > 0 || page.deleted.length > 0 || page.next.seq !== cursor?.seq;
    return answerOf(page, {
      commit: () => positions.save(bouncer, page.next, changed),
      release: () => Promise.resolve(),
    });
  },
});
