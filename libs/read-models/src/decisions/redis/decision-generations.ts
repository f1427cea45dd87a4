import type { Checkpoint, RecordedEvent } from '@lapi/event-store';
import type Redis from 'ioredis';
import type { ProjectionTarget } from '../../coordination/projector';
import type { RedisKeys } from '../../coordination/redis-keys';
import { decisionKeys, RedisDecisionsTarget, type Change, type DecisionKeys } from './redis-decisions.target';

// The live generation's seq and hash in one round trip, the pointer read in the same step; with KEYS[2], the field
// ARGV[2] of that hash too (false when absent).
const LIVE_HEAD = `
local gen = tonumber(redis.call('GET', KEYS[1]) or '1')
local p = gen == 1 and ARGV[1] or (ARGV[1] .. 'g' .. gen .. ':')
local head = { gen, redis.call('GET', p .. 'seq') or '0', redis.call('GET', p .. 'hash') or '',
  redis.call('GET', p .. 'checkpoint') or '', redis.call('GET', p .. 'compacted') or '0' }
if KEYS[2] then head[6] = redis.call('HGET', KEYS[2], ARGV[2]) end
return head`;

// Switches only from the generation the caller read, and only when the new one stands where the live one does:
// the projector then goes on with the new one from the same checkpoint, nothing skipped or applied twice.
const SWITCH = `
local live = tonumber(redis.call('GET', KEYS[1]) or '1')
if live ~= tonumber(ARGV[1]) then return 0 end
if redis.call('GET', ARGV[3] .. 'checkpoint') ~= redis.call('GET', ARGV[4] .. 'checkpoint') then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1`;

const REQUEST = `
local live = tonumber(redis.call('GET', KEYS[1]) or '1')
local asked = tonumber(redis.call('GET', KEYS[2]) or '0')
if asked > live then return asked end
redis.call('SET', KEYS[2], live + 1)
return live + 1`;

export interface LiveHead {
  readonly generation: number;
  readonly seq: number;
  readonly hash: string;
  readonly checkpoint: string;
  /** Records that ended before this (ms) were compacted away (0: never). */
  readonly compacted: number;
}

/**
 * Generations of the decisions read model: `lapi projections rebuild` asks for generation n+1, the projector
 * builds it from the log into its own keys beside the live one, then switches the pointer atomically once both
 * stand at the same checkpoint, and deletes the old keys. Generation 1 lives at `<prefix>decisions:`, as before
 * generations existed; an emptied Redis has no pointer, so it rebuilds generation 1.
 */
export class DecisionGenerations {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  keysOf(generation: number): DecisionKeys {
    return decisionKeys(generation === 1 ? this.keys.decisions : `${this.keys.decisions}g${generation}:`);
  }

  async live(): Promise<number> {
    return Number((await this.redis.get(this.keys.decisionsGeneration)) ?? 1);
  }

  /** The live generation and its head, read together. */
  async head(): Promise<LiveHead> {
    return (await this.headWith()).head;
  }

  /** The head and one field of a hash (null when absent), in one round trip. */
  async headWith(hash?: string, field?: string): Promise<{ head: LiveHead; value: string | null }> {
    const keys = hash === undefined ? [this.keys.decisionsGeneration] : [this.keys.decisionsGeneration, hash];
    const args = field === undefined ? [this.keys.decisions] : [this.keys.decisions, field];
    const [generation, seq, headHash, checkpoint, compacted, value] = (await this.redis.eval(
      LIVE_HEAD,
      keys.length,
      ...keys,
      ...args,
    )) as [number, string, string, string, string, string | null | undefined];
    return {
      head: { generation, seq: Number(seq), hash: headHash, checkpoint, compacted: Number(compacted) },
      value: value ?? null,
    };
  }

  /** Asks for a rebuild; returns the generation that will be built (the one already asked for, if any). */
  async request(): Promise<number> {
    return (await this.redis.eval(REQUEST, 2, this.keys.decisionsGeneration, this.keys.decisionsRebuild)) as number;
  }

  /** The generation asked for, if it is still ahead of the live one. */
  async requested(): Promise<number | null> {
    const asked = Number((await this.redis.get(this.keys.decisionsRebuild)) ?? 0);
    return asked > (await this.live()) ? asked : null;
  }

  async switchTo(generation: number, from: number): Promise<boolean> {
    const done = await this.redis.eval(
      SWITCH,
      2,
      this.keys.decisionsGeneration,
      this.keys.decisionsRebuild,
      String(from),
      String(generation),
      this.keysOf(generation).prefix,
      this.keysOf(from).prefix,
    );
    return done === 1;
  }

  /**
   * Deletes a generation's keys (never the live one's): its alert sets first and its main keys last, so a crash
   * midway leaves the main keys, by which dropStale finds it again.
   */
  async drop(generation: number): Promise<void> {
    if (generation === (await this.live())) {
      throw new Error(`generation ${generation} is live`);
    }
    const k = this.keysOf(generation);
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${k.prefix}alert:*`, 'COUNT', 1000);
      if (found.length > 0) {
        await this.redis.del(...found);
      }
      cursor = next;
    } while (cursor !== '0');
    await this.redis.del(
      k.checkpoint,
      k.seq,
      k.hash,
      k.records,
      k.ends,
      k.changes,
      k.expiry,
      k.building,
      k.clock,
      k.marks,
      k.compacted,
      k.progress,
    );
  }

  /**
   * Deletes the generations older than the live one whose keys are still there (the worker died between the
   * switch and the deletion); returns them. Generations are numbered up from 1, so the candidates are few.
   */
  async dropStale(): Promise<number[]> {
    const live = await this.live();
    const dropped: number[] = [];
    for (let g = 1; g < live; g++) {
      const k = this.keysOf(g);
      if ((await this.redis.exists(k.checkpoint, k.seq, k.records, k.changes, k.expiry, k.ends)) > 0) {
        await this.drop(g);
        dropped.push(g);
      }
    }
    return dropped;
  }
}

/** The decisions read model of whichever generation is live, through the pointer at every call. */
export class LiveDecisionsTarget implements ProjectionTarget {
  readonly name = 'decisions';

  constructor(
    private readonly redis: Redis,
    readonly generations: DecisionGenerations,
  ) {}

  async current(): Promise<RedisDecisionsTarget> {
    return new RedisDecisionsTarget(this.redis, this.generations.keysOf(await this.generations.live()));
  }

  async checkpoint(): Promise<Checkpoint | null> {
    return (await this.current()).checkpoint();
  }

  // A switch between reading the pointer and applying is harmless: it happens only when both generations stand at
  // the same checkpoint, so the compare-and-set accepts or refuses the batch the same way on either.
  async apply(events: readonly RecordedEvent[], from: Checkpoint | null, to: Checkpoint): Promise<boolean> {
    return (await this.current()).apply(events, from, to);
  }

  async caughtUp(): Promise<unknown> {
    return (await this.current()).caughtUp();
  }

  async dueExpiries(now: number, limit: number): Promise<number[]> {
    return (await this.current()).dueExpiries(now, limit);
  }

  async seq(): Promise<number> {
    return (await this.current()).seq();
  }

  async compact(now: number, windowMs: number, limit?: number): Promise<{ dropped: number; done: boolean }> {
    return (await this.current()).compact(now, windowMs, limit);
  }

  /** Numbering is the same in every generation built by the same code, so a reader's position carries over. */
  async changesAfter(seq: number, count: number): Promise<Change[]> {
    return (await this.current()).changesAfter(seq, count);
  }
}
