import type Redis from 'ioredis';
import type { DecisionFilter } from '../decision-queries';
import { DecisionIndex, type IndexCursor, type IndexPage } from '../index/decision-index';
import type { DecisionRecord } from './decision-record';
import type { DecisionKeys } from './redis-decisions.target';

// Changes read per round trip when catching up (a fresh replica reads the whole log in pages this size).
const PAGE = 10_000;

/**
 * A replica's in-memory copy of the decisions read model, kept current from the Redis change log. Before each
 * answer it reads the log's head (one Redis GET) and applies what it misses, so once a write has been projected,
 * every replica answers with it: read-your-writes across the cluster.
 */
export class DecisionReplica {
  private index = new DecisionIndex();
  private syncing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: DecisionKeys,
  ) {}

  /** Brings the index up to the head of the change log; concurrent callers share one catch-up. */
  sync(): Promise<void> {
    this.syncing ??= this.catchUp().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async catchUp(): Promise<void> {
    const head = Number((await this.redis.get(this.keys.seq)) ?? 0);
    if (head < this.index.seq) {
      // The read model was rebuilt or Redis was emptied: start over from its log.
      this.index = new DecisionIndex();
    }
    while (this.index.seq < head) {
      const entries = await this.redis.xrange(this.keys.changes, `(${this.index.seq}-0`, '+', 'COUNT', PAGE);
      if (entries.length === 0) {
        return;
      }
      for (const [id, fields] of entries) {
        this.index.apply(JSON.parse(fields[1]) as DecisionRecord, Number(id.split('-')[0]));
      }
    }
  }

  async find(filter: DecisionFilter, now: number) {
    await this.sync();
    return this.index.find(filter, now);
  }

  async pull(filter: DecisionFilter, dedup: boolean, cursor: IndexCursor | null, now: number): Promise<IndexPage> {
    await this.sync();
    // A cursor from before a rebuild points into another log: answer as for a first pull.
    return cursor && cursor.seq <= this.index.seq
      ? this.index.delta(filter, dedup, cursor, now)
      : this.index.startup(filter, dedup, now);
  }

  get seq(): number {
    return this.index.seq;
  }
}

/** Each bouncer's stream position, in Redis: a poll writes no database row. */
export class RedisStreamCursors {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  async load(bouncer: string): Promise<IndexCursor | null> {
    const text = await this.redis.hget(this.key, bouncer);
    const m = text ? /^(\d+):(\d+)$/.exec(text) : null;
    return m ? { seq: Number(m[1]), pulledAt: Number(m[2]) } : null;
  }

  async save(bouncer: string, cursor: IndexCursor): Promise<void> {
    await this.redis.hset(this.key, bouncer, `${cursor.seq}:${cursor.pulledAt}`);
  }
}
