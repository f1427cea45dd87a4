import type { DecisionReader } from '@lapi/application';
import type { DecisionReplica, LookupTimes, RedisStreamCursors } from '@lapi/projections';
import { Logger } from '@nestjs/common';
import { LapiHttpError } from '../http/http-errors';

const logger = new Logger('ClusterDecisionReader');
const unavailable = () =>
  new LapiHttpError(503, 'the decision stream is unavailable (the cluster cannot reach Redis): retry later');
let warnedAt = 0;
const warnThrottled = (what: string, error: unknown) => {
  if (Date.now() - warnedAt > 10_000) {
    warnedAt = Date.now();
    logger.warn(`Redis unavailable: ${what} (${error instanceof Error ? error.message : String(error)})`);
  }
};

/**
 * Bouncers read this replica's in-memory copy of the Redis read model; their stream positions live in Redis. A pull
 * holds the bouncer's lock from reading its position until the answer is committed or given up, so pulls of one
 * bouncer follow each other in order across replicas.
 */
export function clusterDecisionReader(
  replica: DecisionReplica,
  cursors: RedisStreamCursors,
  lookups: LookupTimes,
): DecisionReader {
  return {
    lookedUp: (bouncer, at) => lookups.note(bouncer, at.getTime()),
    flushPullTimes: () => lookups.flush(),
    forget: async (bouncer) => {
      lookups.forget(bouncer);
      await cursors.forget(bouncer);
    },
    // Redis away: a lookup is answered from what this replica holds (as a bouncer would from its own cache) rather
    // than failed; it catches up as soon as Redis is back.
    find: async (filter, now) => {
      try {
        return await replica.find(filter, now.getTime());
      } catch (error) {
        warnThrottled("lookups answered from this replica's copy", error);
        return replica.findHeld(filter, now.getTime());
      }
    },
    async pull(bouncer, filter, options, now) {
      // Positions live in Redis: without it a pull cannot be answered exactly. 503: the bouncer retries next poll.
      const claim = await cursors.claim(bouncer).catch((error: unknown) => {
        warnThrottled('stream pulls refused', error);
        throw new LapiHttpError(
          503,
          'the decision stream is unavailable (the cluster cannot reach Redis): retry later',
        );
      });
      try {
        const cursor = options.startup ? null : await cursors.load(bouncer);
        // Read after the changes (see DecisionReplica.pull), and never before the previous pull (another host's
        // clock): the expiries it reported are not reported again, nor sent in `new` as still active.
        const at = () => Math.max(now().getTime(), cursor?.pulledAt ?? 0);
        const page = await replica.pull(filter, options.dedup, cursor, at);
        return {
          get new() {
            return page.new;
          },
          get deleted() {
            return page.deleted;
          },
          body: page.body,
          commit: () => cursors.save(bouncer, page.next, page.full, claim),
          release: () => cursors.release(bouncer, claim),
        };
      } catch (error) {
        await cursors.release(bouncer, claim).catch(() => undefined);
        // Everything above reads Redis (the index is in memory): it went away mid-pull.
        warnThrottled('stream pulls refused', error);
        throw unavailable();
      }
    },
  };
}
