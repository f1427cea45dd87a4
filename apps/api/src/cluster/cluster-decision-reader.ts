import { answerOf, type DecisionReader, type StreamAnswer } from '@lapi/application';
import type { DecisionReplica, LookupTimes, RedisStreamCursors } from '@lapi/read-models';
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
 * with something to send holds the bouncer's lock from reading its position until the answer is committed or given
 * up, so such pulls of one bouncer follow each other in order across replicas. A poll with nothing new costs one
 * round trip and writes nothing (see idlePoll).
 */
export function clusterDecisionReader(
  replica: DecisionReplica,
  cursors: RedisStreamCursors,
  lookups: LookupTimes,
): DecisionReader {
  /**
   * The answer of a poll with nothing new, or undefined when there may be something: one round trip (the log's head
   * and the bouncer's position read together), no lock, nothing saved; its time is noted as a lookup's (the last
   * pull listings show), written with the others.
   *
   * Without the lock this poll may overlap another pull of the bouncer, here or on another replica. That is safe for
   * an empty answer: it moves no position and tells the bouncer nothing, so it is as if it came before that pull,
   * whatever that one sends and saves. And leaving the position where it was loses nothing: with no change after
   * cursor.seq and no decision ended in (cursor.pulledAt, now], a later pull from the saved position answers as it
   * would from (seq, now) — expiries are measured from the saved pulledAt, so each is sent once, by the pull that
   * moves past it.
   */
  async function idlePoll(bouncer: string, now: () => Date): Promise<StreamAnswer | undefined> {
    const cursor = cursors.peeked(bouncer, await replica.syncReading(cursors.positionsKey, bouncer));
    if (!cursor) {
      return undefined;
    }
    const at = Math.max(now().getTime(), cursor.pulledAt);
    if (!replica.idleSince(cursor, at)) {
      return undefined;
    }
    lookups.note(bouncer, at);
    const done = () => Promise.resolve();
    return { new: [], deleted: [], commit: done, release: done };
  }

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
      if (!options.startup) {
        const nothingNew = await idlePoll(bouncer, now).catch((error: unknown) => {
          warnThrottled('stream pulls refused', error);
          throw unavailable();
        });
        if (nothingNew) {
          return nothingNew;
        }
      }
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
        return answerOf(page, {
          commit: () => cursors.save(bouncer, page.next, page.full, claim),
          release: () => cursors.release(bouncer, claim),
        });
      } catch (error) {
        await cursors.release(bouncer, claim).catch(() => undefined);
        // Everything above reads Redis (the index is in memory): it went away mid-pull.
        warnThrottled('stream pulls refused', error);
        throw unavailable();
      }
    },
  };
}
