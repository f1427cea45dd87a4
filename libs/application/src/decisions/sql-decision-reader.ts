import type { DatabaseHandle } from '@lapi/event-store';
import { findActiveDecisions, loadStreamCursor, pullStream, saveStreamCursor } from '@lapi/projections';
import type { DecisionReader } from './decision-reader';

/** Bouncers read the database's read model (embedded mode, or a single server without Redis). */
export const sqlDecisionReader = (database: DatabaseHandle): DecisionReader => ({
  find: (filter, now) => findActiveDecisions(database.db, filter, now),
  async pull(bouncer, filter, options, now) {
    // A bouncer that never pulled gets everything, as with startup (reference: last_pull NULL has no lower bound).
    const cursor = options.startup ? null : await loadStreamCursor(database.db, bouncer);
    const page = await pullStream(database.db, filter, { cursor, dedup: options.dedup, now: now() });
    return {
      new: page.new,
      deleted: page.deleted,
      commit: () => saveStreamCursor(database.db, bouncer, page.next),
      release: () => Promise.resolve(),
    };
  },
});
