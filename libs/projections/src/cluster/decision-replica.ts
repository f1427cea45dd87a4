import type Redis from 'ioredis';
import type { DecisionFilter } from '../decision-queries';
import { DecisionIndex, type IndexCursor, type IndexPage } from '../index/decision-index';
import type { DecisionGenerations } from './decision-generations';
import { parseChanges, type DecisionKeys } from './redis-decisions.target';

// Changes read per round trip when catching up (a fresh replica reads the whole log in pages this size).
const PAGE = 10_000;
// How many recent changes' hashes a replica keeps to check bouncer cursors without a Redis round trip.
const RECENT_HASHES = 65_536;

/** A bouncer's stream position, with the change log's hash at `seq` (absent in cursors written before it existed). */
export interface ReplicaCursor extends IndexCursor {
  readonly hash?: string;
}

export interface ReplicaPage extends IndexPage {
  readonly next: ReplicaCursor;
  /** A full answer (as on startup): the bouncer's position may go back to `next`. */
  readonly full: boolean;
}

/** Cursors and replicas compare this much of the chain hash: 64 bits tell two logs apart. */
export const shortHash = (hash: string): string => hash.slice(0, 16);

/**
 * A replica's in-memory copy of the decisions read model, kept current from the Redis change log. Before each
 * answer it reads the log's head (one Redis round trip) and applies what it misses, so once a write has been
 * projected, every replica answers with it: read-your-writes across the cluster.
 *
 * When Redis was emptied the projector rebuilds the log with the same change numbers (see APPLY), so a replica
 * whose index is ahead keeps answering from it (consistent, just not advancing) until the rebuilt log passes its
 * seq, then goes on once the hash chain at its seq matches what it applied. A log numbered differently (a rebuild
 * by other code) does not match: the replica reloads from it, and cursors of the old log are answered as a first pull.
 * It follows the live generation the same way: after `lapi projections rebuild` switched, it goes on with the new
 * generation's log if it matches at its seq, and reloads from it otherwise.
 */
export class DecisionReplica {
  private index = new DecisionIndex();
  /** Chain hash (short) at index.seq. */
  private hash = '';
  private recent = new RecentHashes(RECENT_HASHES);
  /** Redis's head at the last sync: below index.seq while the projection rebuilds. */
  private head = 0;
  private syncing: Promise<void> | undefined;
  /** Times this replica threw its index away because the log was numbered differently. */
  reloads = 0;

  private generation = 0;
  private keys: DecisionKeys;

  constructor(
    private readonly redis: Redis,
    private readonly generations: DecisionGenerations,
  ) {
    this.keys = generations.keysOf(1);
  }

  /** Brings the index up to the head of the change log; concurrent callers share one catch-up. */
  sync(): Promise<void> {
    this.syncing ??= this.catchUp().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async catchUp(): Promise<void> {
    const live = await this.generations.head();
    if (live.generation !== this.generation) {
      this.generation = live.generation;
      this.keys = this.generations.keysOf(live.generation);
    }
    const hashText = live.hash;
    this.head = live.seq;
    if (this.head < this.index.seq) {
      return; // Redis was emptied and the log is being rebuilt: keep answering from what we have.
    }
    if (this.head === this.index.seq) {
      if (shortHash(hashText) !== this.hash) {
        await this.reload();
      }
      return;
    }
    // Read from our own last change too, to check the log we continue is the one we applied.
    let from = this.index.seq === 0 ? '(0-0' : `${this.index.seq}-0`;
    let check = this.index.seq > 0;
    while (this.index.seq < this.head) {
      const changes = parseChanges(await this.redis.xrange(this.keys.changes, from, '+', 'COUNT', PAGE));
      if (check) {
        check = false;
        const mine = changes.shift();
        if (mine?.seq !== this.index.seq || shortHash(mine.hash) !== this.hash) {
          await this.reload();
          return;
        }
      }
      if (changes.length === 0) {
        return;
      }
      this.applyAll(this.index, this.recent, changes);
      from = `(${this.index.seq}-0`;
    }
  }

  /** Builds a new index from the whole log, then swaps it in. */
  private async reload(): Promise<void> {
    const index = new DecisionIndex();
    const recent = new RecentHashes(RECENT_HASHES);
    this.hash = '';
    for (;;) {
      const changes = parseChanges(await this.redis.xrange(this.keys.changes, `(${index.seq}-0`, '+', 'COUNT', PAGE));
      if (changes.length === 0) {
        break;
      }
      this.applyAll(index, recent, changes);
    }
    this.index = index;
    this.recent = recent;
    this.head = index.seq;
    this.reloads += 1;
  }

  private applyAll(index: DecisionIndex, recent: RecentHashes, changes: ReturnType<typeof parseChanges>): void {
    for (const c of changes) {
      index.apply(c.record, c.seq);
      this.hash = shortHash(c.hash);
      recent.set(c.seq, this.hash);
    }
  }

  async find(filter: DecisionFilter, now: number) {
    await this.sync();
    return this.index.find(filter, now);
  }

  /**
   * A stream pull. Without a cursor, or with one from another log: every decision, as on startup. With a cursor
   * ahead of this replica (Redis was emptied and the log is not rebuilt that far yet): nothing, and the same
   * cursor, so the bouncer gets those changes once a replica has them — never twice, never lost.
   */
  async pull(filter: DecisionFilter, dedup: boolean, cursor: ReplicaCursor | null, now: number): Promise<ReplicaPage> {
    await this.sync();
    const index = this.index;
    const hash = this.hash;
    if (cursor && cursor.seq > index.seq) {
      return { new: [], deleted: [], next: cursor, full: false };
    }
    const verdict = cursor ? await this.sameLog(cursor) : 'other';
    if (verdict === 'later') {
      return { new: [], deleted: [], next: cursor!, full: false };
    }
    const page = verdict === 'same' ? index.delta(filter, dedup, cursor!, now) : index.startup(filter, dedup, now);
    return { ...page, next: { ...page.next, hash }, full: verdict !== 'same' };
  }

  /** Whether the cursor was written on the log this replica holds ('later': cannot tell until Redis has it again). */
  private async sameLog(cursor: ReplicaCursor): Promise<'same' | 'other' | 'later'> {
    if (cursor.hash === undefined || cursor.seq === 0) {
      return 'same';
    }
    let hash = this.recent.get(cursor.seq);
    if (hash === undefined) {
      const [change] = parseChanges(await this.redis.xrange(this.keys.changes, `${cursor.seq}-0`, `${cursor.seq}-0`));
      if (!change) {
        return this.head < cursor.seq ? 'later' : 'other';
      }
      hash = shortHash(change.hash);
    }
    return hash === cursor.hash ? 'same' : 'other';
  }

  get seq(): number {
    return this.index.seq;
  }
}

/** seq → short hash of the last `size` changes, in a ring. */
class RecentHashes {
  private readonly seqs: Float64Array;
  private readonly hashes: string[];
  constructor(private readonly size: number) {
    this.seqs = new Float64Array(size);
    this.hashes = new Array<string>(size);
  }
  set(seq: number, hash: string): void {
    this.seqs[seq % this.size] = seq;
    this.hashes[seq % this.size] = hash;
  }
  get(seq: number): string | undefined {
    return this.seqs[seq % this.size] === seq ? this.hashes[seq % this.size] : undefined;
  }
}
