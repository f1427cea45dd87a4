import { positionOwner } from '@lapi/domain/bouncers/bouncer';
import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { LookupTimesWriter } from '../lookup-times';
import type { ReplicaCursor } from './decision-replica';

// How many bouncers' cursors a replica remembers to put back after Redis was emptied.
const REMEMBERED = 100_000;
// A bouncer's pull holds its lock until its answer is handed to the network and its position saved. A waiting pull
// takes it over as soon as the holder's Redis connection is gone (a replica killed), else once it expires.
const PULL_LOCK_MS = 5_000;
const PULL_LOCK_POLL_MS = 10;
const HOLDER_CHECK_EVERY = 5; // polls

// Whether the cursor in KEYS[1] at ARGV[1] is later than (ARGV[3] seq, ARGV[4] pulledAt).
const LATER = `
local function later_stored(key, field, seq, at)
  local cur = redis.call('HGET', key, field)
  if not cur then return false end
  local s, a = string.match(cur, '^(%d+):(%d+)')
  return s and (tonumber(s) > tonumber(seq) or (tonumber(s) == tonumber(seq) and tonumber(a) > tonumber(at)))
end`;

// A delta's cursor never moves a bouncer back: a cursor put back from a replica's memory keeps the later position.
// Compares seq, then pulledAt.
const SAVE_LATER = `${LATER}
if later_stored(KEYS[1], ARGV[1], ARGV[3], ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

// A pull's commit in one step: saves the position (a reset may go back, a delta only forward), tells every
// replica (their memory puts it back should Redis be emptied), and frees the bouncer's pull lock if still ours.
const COMMIT = `${LATER}
local saved = 0
if ARGV[5] == '1' or not later_stored(KEYS[1], ARGV[1], ARGV[3], ARGV[4]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PUBLISH', ARGV[7], ARGV[5] .. '\\n' .. ARGV[2] .. '\\n' .. ARGV[1])
  saved = 1
end
if redis.call('GET', KEYS[2]) == ARGV[6] then redis.call('DEL', KEYS[2]) end
return saved`;

// Lookup times (ARGV: key, epoch ms, key, ms, …) kept when later than the stored ones.
const SAVE_LOOKUPS = `
for i = 1, #ARGV, 2 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i])
  if not cur or tonumber(cur) < tonumber(ARGV[i + 1]) then redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
return 0`;
// Lookup times per script call: bounded arguments, one pipeline per flush.
const LOOKUPS_PER_CALL = 5_000;

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const TAKE_OVER = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end return false`;

const format = (c: ReplicaCursor) => `${c.seq}:${c.pulledAt}${c.hash !== undefined ? `:${c.hash}` : ''}`;

const parse = (text: string | null | undefined): ReplicaCursor | null => {
  const m = text ? /^(\d+):(\d+)(?::([0-9a-f]*))?$/.exec(text) : null;
  return m ? { seq: Number(m[1]), pulledAt: Number(m[2]), ...(m[3] !== undefined ? { hash: m[3] } : {}) } : null;
};

/** Whether `a` is a later position than `b` (seq, then pulledAt). */
export const laterCursor = (a: ReplicaCursor, b: ReplicaCursor): boolean =>
  a.seq > b.seq || (a.seq === b.seq && a.pulledAt > b.pulledAt);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Each bouncer's stream position, in Redis ("seq:pulledAt:hash"): a poll writes no database row.
 *
 * - A pull holds the bouncer's lock (`claim`) from loading the position until its answer is handed to the network
 *   and the position saved (`commit`) or given up (`release`): the bouncer's next pull, on any replica, reads the
 *   position after the previous answer, even when that replica was slow to save it.
 * - Every save is published to all replicas, which remember the latest position of every bouncer (and mirror the
 *   hash every second, for replicas started later). When Redis lost a position, or holds an older one than a
 *   replica remembers (another replica put back a stale copy), the later one is put back: with deterministic change
 *   numbers it is still exact. A bouncer whose position no replica remembers is answered as on its first pull.
 */
export class RedisStreamCursors {
  private readonly remembered = new Map<string, ReplicaCursor>();
  private readonly channel: string;
  /** This connection's CLIENT ID (a reconnection changes it: another pull may then take our lock over, harmless). */
  private clientId: string | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    /** Bouncer processes' lookup times (position key → epoch ms), written by `writeLookups`. */
    private readonly lookupsKey: string,
  ) {
    this.channel = `${key}:saved`;
  }

  /** Follows the positions other replicas save, on a connection of its own (subscriber mode). */
  async listen(subscriber: Redis): Promise<void> {
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) {
        return;
      }
      const [reset, text] = message.split('\n', 2);
      const bouncer = message.slice(reset.length + text.length + 2);
      const cursor = parse(text);
      if (cursor) {
        this.remember(bouncer, cursor, reset === '1');
      }
    });
    await subscriber.subscribe(this.channel);
  }

  /** Waits until no other pull of this bouncer is under way (or its holder died), and takes its lock. */
  async claim(bouncer: string): Promise<string> {
    const key = this.lockKey(bouncer);
    // Our connection's id names the holder: a replica killed holding the lock drops its connection at once.
    this.clientId ??= String(await this.redis.client('ID'));
    const token = `${this.clientId} ${randomUUID()}`;
    const deadline = Date.now() + 2 * PULL_LOCK_MS;
    for (let poll = 1; (await this.redis.set(key, token, 'PX', PULL_LOCK_MS, 'NX')) === null; poll++) {
      if (Date.now() > deadline) {
        break; // held by one pull after another: answer anyway
      }
      if (poll % HOLDER_CHECK_EVERY === 0 && (await this.takeOverFromGone(key, token))) {
        break;
      }
      await sleep(PULL_LOCK_POLL_MS);
    }
    return token;
  }

  /** Takes the lock if its holder's connection to Redis is gone. */
  private async takeOverFromGone(key: string, token: string): Promise<boolean> {
    const held = await this.redis.get(key);
    const holder = held?.split(' ')[0];
    if (!held || !holder || !/^\d+$/.test(holder)) {
      return false;
    }
    // CLIENT LIST ID needs Redis 6.2; an older one answers an error and the lock is left to expire.
    const alive = await (this.redis.client('LIST', 'ID', holder) as Promise<string>).catch(() => 'unknown');
    if (alive !== '') {
      return false;
    }
    return (await this.redis.eval(TAKE_OVER, 1, key, held, token, PULL_LOCK_MS)) === 'OK';
  }

  /** The answer did not reach the bouncer: its position stays, the next pull may go on. */
  async release(bouncer: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.lockKey(bouncer), token);
  }

  /**
   * The last pull of each of these position keys, as ISO times: the later of its position's save and its last lookup
   * (none for a key with neither).
   */
  async pulledAt(bouncers: readonly string[]): Promise<Map<string, string>> {
    if (bouncers.length === 0) {
      return new Map();
    }
    const [positions, lookups] = await Promise.all([
      this.redis.hmget(this.key, ...bouncers),
      this.redis.hmget(this.lookupsKey, ...bouncers),
    ]);
    const times = new Map<string, string>();
    bouncers.forEach((bouncer, i) => {
      const at = Math.max(parse(positions[i])?.pulledAt ?? -1, Number(lookups[i] ?? -1));
      if (at >= 0) {
        times.set(bouncer, new Date(at).toISOString());
      }
    });
    return times;
  }

  /** Writes lookup times (LookupTimes' writer), keeping the later of each and the stored one: one pipeline. */
  readonly writeLookups: LookupTimesWriter = async (times) => {
    const entries = [...times].flatMap(([bouncer, at]) => [bouncer, String(at)]);
    const pipeline = this.redis.pipeline();
    for (let from = 0; from < entries.length; from += 2 * LOOKUPS_PER_CALL) {
      pipeline.eval(SAVE_LOOKUPS, 1, this.lookupsKey, ...entries.slice(from, from + 2 * LOOKUPS_PER_CALL));
    }
    await pipeline.exec();
  };

  /**
   * Deletes a deleted bouncer's positions and lookup times, its instances' too. Every replica does it when told of
   * the deletion, after forgetting them: none puts back a position the others deleted.
   */
  async forget(bouncer: string): Promise<void> {
    for (const key of this.remembered.keys()) {
      if (positionOwner(key) === bouncer) {
        this.remembered.delete(key);
      }
    }
    for (const hash of [this.key, this.lookupsKey]) {
      const fields = (await this.redis.hkeys(hash)).filter((key) => positionOwner(key) === bouncer);
      if (fields.length > 0) {
        await this.redis.hdel(hash, ...fields);
      }
    }
  }

  /** The hash of positions (bouncer → "seq:pulledAt:hash"), for reading one along with something else. */
  get positionsKey(): string {
    return this.key;
  }

  /**
   * A position read without the lock (`stored`: its field in positionsKey): null when there is none, or when this
   * replica remembers a later one (a pull under the lock puts that back).
   */
  peeked(bouncer: string, stored: string | null): ReplicaCursor | null {
    const cursor = parse(stored);
    const known = this.remembered.get(bouncer);
    return cursor && !(known && laterCursor(known, cursor)) ? cursor : null;
  }

  async load(bouncer: string): Promise<ReplicaCursor | null> {
    const stored = parse(await this.redis.hget(this.key, bouncer));
    const known = this.remembered.get(bouncer);
    if (known && (!stored || laterCursor(known, stored))) {
      await this.redis.eval(SAVE_LATER, 1, this.key, ...this.putBackArgs(bouncer, known));
      return known;
    }
    if (stored) {
      this.remember(bouncer, stored, false);
    }
    return stored;
  }

  /** `reset`: the bouncer was just given a full answer (startup), so its position may go back. */
  async save(bouncer: string, cursor: ReplicaCursor, reset: boolean, token = ''): Promise<void> {
    await this.redis.eval(
      COMMIT,
      2,
      this.key,
      this.lockKey(bouncer),
      bouncer,
      format(cursor),
      cursor.seq,
      cursor.pulledAt,
      reset ? '1' : '0',
      token,
      this.channel,
    );
    this.remember(bouncer, cursor, reset);
  }

  /**
   * Mirrors every cursor in Redis into memory, so the cursors of a replica that died survive a Redis reset too, and
   * puts back those we remember later than Redis has them (lost, or put back stale). Returns how many were put back.
   */
  async refresh(): Promise<number> {
    const all = await this.redis.hgetall(this.key);
    const behind: [string, ReplicaCursor][] = [];
    for (const [bouncer, cursor] of this.remembered) {
      const stored = parse(all[bouncer]);
      if (!stored || laterCursor(cursor, stored)) {
        behind.push([bouncer, cursor]);
      }
    }
    for (const [bouncer, text] of Object.entries(all)) {
      const cursor = parse(text);
      if (cursor) {
        this.remember(bouncer, cursor, false);
      }
    }
    if (behind.length > 0) {
      const pipeline = this.redis.pipeline();
      for (const [bouncer, cursor] of behind) {
        pipeline.eval(SAVE_LATER, 1, this.key, ...this.putBackArgs(bouncer, cursor));
      }
      await pipeline.exec();
    }
    return behind.length;
  }

  private putBackArgs(bouncer: string, cursor: ReplicaCursor): [string, string, number, number] {
    return [bouncer, format(cursor), cursor.seq, cursor.pulledAt];
  }

  private lockKey(bouncer: string): string {
    return `${this.key}:pull:${bouncer}`;
  }

  /** Keeps the later of what we knew and `cursor`, unless `cursor` is a reset (a full answer: it may go back). */
  private remember(bouncer: string, cursor: ReplicaCursor, reset: boolean): void {
    const known = this.remembered.get(bouncer);
    if (known && !reset && laterCursor(known, cursor)) {
      return;
    }
    this.remembered.delete(bouncer); // re-inserted last: the oldest is evicted first
    this.remembered.set(bouncer, cursor);
    if (this.remembered.size > REMEMBERED) {
      this.remembered.delete(this.remembered.keys().next().value!);
    }
  }
}
