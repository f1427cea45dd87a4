import type { DecisionReader } from '@lapi/application';
import type { DecisionReplica, RedisStreamCursors } from '@lapi/projections';

/**
 * Bouncers read this replica's in-memory copy of the Redis read model; their stream positions live in Redis. A pull
 * holds the bouncer's lock from reading its position until the answer is committed or given up, so pulls of one
 * bouncer follow each other in order across replicas.
 */
export function clusterDecisionReader(replica: DecisionReplica, cursors: RedisStreamCursors): DecisionReader {
  return {
    find: async (filter, now) => replica.find(filter, now.getTime()),
    async pull(bouncer, filter, options, now) {
      const claim = await cursors.claim(bouncer);
      try {
        const cursor = options.startup ? null : await cursors.load(bouncer);
        // Read after the changes (see DecisionReplica.pull), and never before the previous pull (another host's
        // clock): the expiries it reported are not reported again, nor sent in `new` as still active.
        const at = () => Math.max(now().getTime(), cursor?.pulledAt ?? 0);
        const { full, ...page } = await replica.pull(filter, options.dedup, cursor, at);
        return {
          new: page.new,
          deleted: page.deleted,
          commit: () => cursors.save(bouncer, page.next, full, claim),
          release: () => cursors.release(bouncer, claim),
        };
      } catch (error) {
        await cursors.release(bouncer, claim).catch(() => undefined);
        throw error;
      }
    },
  };
}
