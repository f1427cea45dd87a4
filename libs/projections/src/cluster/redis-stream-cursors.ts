import type Redis from 'ioredis';
import type { ReplicaCursor } from './decision-replica';

// How many bouncers' cursors a replica remembers to put back after Redis was emptied.
const REMEMBERED = 100_000;

// A delta's cursor never moves a bouncer back: two overlapping pulls, or a cursor put back from a replica's
// memory, keep the later position. Compares seq, then pulledAt.
const SAVE_LATER = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local seq, at = string.match(cur, '^(%d+):(%d+)')
  if seq and (tonumber(seq) > tonumber(ARGV[3]) or (tonumber(seq) == tonumber(ARGV[3]) and tonumber(at) > tonumber(ARGV[4]))) then
    return 0
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

const format = (c: ReplicaCursor) => `${c.seq}:${c.pulledAt}${c.hash !== undefined ? `:${c.hash}` : ''}`;

const parse = (text: string | null | undefined): ReplicaCursor | null => {
  const m = text ? /^(\d+):(\d+)(?::([0-9a-f]*))?$/.exec(text) : null;
  return m ? { seq: Number(m[1]), pulledAt: Number(m[2]), ...(m[3] !== undefined ? { hash: m[3] } : {}) } : null;
};

/**
 * Each bouncer's stream position, in Redis ("seq:pulledAt:hash"): a poll writes no database row. Every replica
 * also remembers the cursors it read, wrote or mirrored (`refresh`, every few seconds), and puts them back when
 * Redis lost them, only where no newer cursor was written since (HSETNX): with deterministic change numbers they are still exact. A
 * bouncer whose cursor no replica remembers is answered as on its first pull (all active decisions in `new`).
 */
export class RedisStreamCursors {
  private readonly remembered = new Map<string, ReplicaCursor>();

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  async load(bouncer: string): Promise<ReplicaCursor | null> {
    const stored = parse(await this.redis.hget(this.key, bouncer));
    if (stored) {
      this.remember(bouncer, stored);
      return stored;
    }
    const known = this.remembered.get(bouncer) ?? null;
    if (known) {
      await this.redis.hsetnx(this.key, bouncer, format(known));
      return parse(await this.redis.hget(this.key, bouncer));
    }
    return null;
  }

  /** `reset`: the bouncer was just given a full answer (startup), so its position may go back. */
  async save(bouncer: string, cursor: ReplicaCursor, reset: boolean): Promise<void> {
    if (reset) {
      await this.redis.hset(this.key, bouncer, format(cursor));
    } else {
      await this.redis.eval(SAVE_LATER, 1, this.key, bouncer, format(cursor), cursor.seq, cursor.pulledAt);
    }
    this.remember(bouncer, cursor);
  }

  /**
   * Mirrors every cursor in Redis into memory, so the cursors of a replica that died survive a Redis reset too, and
   * puts back those we remember that Redis lost (nothing else deletes a cursor). Returns how many were put back.
   */
  async refresh(): Promise<number> {
    const all = await this.redis.hgetall(this.key);
    const lost: [string, ReplicaCursor][] = [];
    for (const [bouncer, cursor] of this.remembered) {
      if (all[bouncer] === undefined) {
        lost.push([bouncer, cursor]);
      }
    }
    for (const [bouncer, text] of Object.entries(all)) {
      const cursor = parse(text);
      if (cursor) {
        this.remember(bouncer, cursor);
      }
    }
    if (lost.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const [bouncer, cursor] of lost) {
        pipeline.hsetnx(this.key, bouncer, format(cursor));
      }
      await pipeline.exec();
    }
    return lost.length;
  }

  private remember(bouncer: string, cursor: ReplicaCursor): void {
    this.remembered.delete(bouncer); // re-inserted last: the oldest is evicted first
    this.remembered.set(bouncer, cursor);
    if (this.remembered.size > REMEMBERED) {
      this.remembered.delete(this.remembered.keys().next().value!);
    }
  }
}
