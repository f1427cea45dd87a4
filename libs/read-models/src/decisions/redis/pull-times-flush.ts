import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';

// How long a listing waits for the API replicas to write the pull times they noted: a replica that cannot answer
// in time (Redis slow, or it is stopping) leaves its times up to a minute old in the listing, no worse.
const FLUSH_WAIT_MS = 2_000;

/**
 * API replica side: on request (a message naming a reply list), writes the pull times this replica noted, then
 * answers on that list. On the subscriber connection of the replica, which may follow other channels too.
 */
export async function answerPullTimesFlushes(
  subscriber: Redis,
  redis: Redis,
  channel: string,
  flush: () => Promise<void>,
): Promise<void> {
  subscriber.on('message', (from: string, replyList: string) => {
    if (from !== channel) {
      return;
    }
    void flush()
      .then(() =>
        redis
          .multi()
          .rpush(replyList, '1')
          .pexpire(replyList, 2 * FLUSH_WAIT_MS)
          .exec(),
      )
      .catch(() => undefined); // unanswered: the listing stops waiting at FLUSH_WAIT_MS
  });
  await subscriber.subscribe(channel);
}

/**
 * Listing side (`lapi bouncers list`): asks every API replica to write the pull times it noted (once a minute
 * otherwise) and waits until each has, FLUSH_WAIT_MS at most. Returns how many answered.
 */
export async function flushReplicasPullTimes(redis: Redis, channel: string, waitMs = FLUSH_WAIT_MS): Promise<number> {
  const replyList = `${channel}:${randomUUID()}`;
  // PUBLISH answers how many subscribers received it: one connection per API replica.
  const replicas = await redis.publish(channel, replyList);
  const deadline = Date.now() + waitMs;
  let answered = 0;
  try {
    while (answered < replicas) {
      const left = deadline - Date.now();
      // BLPOP's timeout is in seconds, and 0 would wait forever.
      if (left <= 0 || (await redis.blpop(replyList, Math.max(left, 10) / 1000)) === null) {
        break;
      }
      answered++;
    }
  } finally {
    await redis.del(replyList);
  }
  return answered;
}
