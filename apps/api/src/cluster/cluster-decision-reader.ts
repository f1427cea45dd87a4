import type { DecisionReader } from '@lapi/application';
import type { DecisionReplica, RedisStreamCursors } from '@lapi/projections';

/** Bouncers read this replica's in-memory copy of the Redis read model; their stream positions live in Redis. */
export function clusterDecisionReader(replica: DecisionReplica, cursors: RedisStreamCursors): DecisionReader {
  return {
    find: async (filter, now) => replica.find(filter, now.getTime()),
    async pull(bouncer, filter, options, now) {
      const cursor = options.startup ? null : await cursors.load(bouncer);
      const { full, ...page } = await replica.pull(filter, options.dedup, cursor, now.getTime());
      return { new: page.new, deleted: page.deleted, commit: () => cursors.save(bouncer, page.next, full) };
    },
  };
}
