import type Redis from 'ioredis';
import { DecisionIndex, type ActiveCount, type IndexCursor, type IndexPage } from '../memory/decision-index';
import type { DecisionFilter } from '../sql/decision-queries';
import type { DecisionGenerations } from './decision-generations';
import { parseChanges, parseStoredRecord, type DecisionKeys, type StoredRecord } from './redis-decisions.target';

export type { ActiveCount };

// Changes read per round trip when catching up (a fresh replica: the log after its snapshot, in pages this size).
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
  /** Decisions that ended before this (ms) were compacted away: a cursor pulled before it gets a full answer. */
  private compacted = 0;

  private generation = 0;
  private keys: DecisionKeys;

  constructor(
    private readonly redis: Redis,
    private readonly generations: DecisionGenerations,
  ) {
    this.keys = generations.keysOf(1);
  }

  /**
   * Syncs as `sync` does, and reads one field of a hash (null when absent) in the same round trip: when the head
   * shows nothing new since this replica's last sync, that round trip is the only one.
   */
  async syncReading(hash: string, field: string): Promise<string | null> {
    const { head, value } = await this.generations.headWith(hash, field);
    const holds =
      head.generation === this.generation &&
      head.seq === this.index.seq &&
      shortHash(head.hash) === this.hash &&
      head.compacted <= this.compacted;
    if (holds) {
      this.head = head.seq;
    } else {
      await this.sync(); // reads the head again, at or after this one: read-your-writes holds
    }
    return value;
  }

  /**
   * Whether a pull from `cursor` at `now` answers nothing and may leave the bouncer at `cursor`: written on the log
   * this replica holds, not before the compaction cutoff, and nothing changed or ended since (index.unchangedSince).
   * Reads no Redis: call it right after a sync.
   */
  idleSince(cursor: ReplicaCursor, now: number): boolean {
    return (
      cursor.pulledAt >= this.compacted &&
      (cursor.hash === undefined || cursor.hash === this.hash) &&
      this.index.unchangedSince(cursor, now)
    );
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
    if (live.compacted > this.compacted) {
      this.index.compact(live.compacted);
      this.compacted = live.compacted;
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
    if (this.index.seq === 0) {
      await this.reload(); // a fresh replica starts from a snapshot: the log holds only the recent changes
      return;
    }
    // Read from our own last change too, to check the log we continue is the one we applied.
    let from = `${this.index.seq}-0`;
    let check = true;
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
      this.hash = this.applyAll(this.index, this.recent, changes) ?? this.hash;
      from = `(${this.index.seq}-0`;
    }
  }

  /** Builds a new index from a snapshot of the records and the log after it, then swaps it in. */
  private async reload(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const loaded = await this.loadSnapshot();
      if (loaded) {
        this.reloads += this.index.seq > 0 ? 1 : 0; // the first load throws nothing away
        this.index = loaded.index;
        this.recent = loaded.recent;
        this.hash = loaded.hash;
        this.head = loaded.index.seq;
        return;
      }
      if (attempt === 3) {
        throw new Error('the decisions read model kept changing under a snapshot: retrying at the next request');
      }
    }
  }

  /**
   * A projector batch may run while the records are scanned, so: the head (seq, hash) is read first; records last
   * changed at or before it are as they stood there; later ones are left to the log after it, which holds every
   * change since (their first seq comes from the scan, so the index is the one the whole log would give). Null when
   * that cannot hold: Redis emptied, the generation switched, or the log trimmed past the head meanwhile.
   */
  private async loadSnapshot(): Promise<Loaded | null> {
    const at = await this.generations.head();
    const keys = this.generations.keysOf(at.generation);
    // By id: HSCAN may return a field twice.
    const upTo = new Map<number, StoredRecord>();
    const later = new Map<number, number>();
    let scan = '0';
    do {
      const [next, flat] = await this.redis.hscan(keys.records, scan, 'COUNT', 1000);
      for (let i = 1; i < flat.length; i += 2) {
        const r = parseStoredRecord(flat[i]);
        if (r.lastSeq === 0) {
          return this.loadLog(at.generation); // records written before they carried their seqs
        }
        if (r.lastSeq <= at.seq) {
          upTo.set(r.record.id, r);
        } else {
          later.set(r.record.id, r.firstSeq);
        }
      }
      scan = next;
    } while (scan !== '0');
    const index = new DecisionIndex();
    const recent = new RecentHashes(RECENT_HASHES);
    for (const r of [...upTo.values()].sort((a, b) => a.lastSeq - b.lastSeq)) {
      index.apply(r.record, r.lastSeq, r.firstSeq);
    }
    index.skipTo(at.seq);
    const loaded: Loaded = { index, recent, hash: shortHash(at.hash) };
    recent.set(at.seq, loaded.hash);
    let first = true;
    for (;;) {
      const changes = parseChanges(await this.redis.xrange(keys.changes, `(${index.seq}-0`, '+', 'COUNT', PAGE));
      if (first && changes.length > 0 && changes[0].seq !== at.seq + 1) {
        return null; // trimmed past the snapshot, or another log
      }
      first = false;
      if (changes.length === 0) {
        break;
      }
      loaded.hash = this.applyAll(index, recent, changes, later) ?? loaded.hash;
    }
    const now = await this.generations.head();
    if (now.generation !== at.generation || now.seq < index.seq) {
      return null;
    }
    // Compaction may have dropped records during the scan: drop the same ones here.
    index.compact(now.compacted);
    this.generation = at.generation;
    this.keys = keys;
    this.compacted = Math.max(this.compacted, now.compacted);
    return loaded;
  }

  /** The whole change log, for records written before they carried their seqs. */
  private async loadLog(generation: number): Promise<Loaded> {
    const keys = this.generations.keysOf(generation);
    const loaded: Loaded = { index: new DecisionIndex(), recent: new RecentHashes(RECENT_HASHES), hash: '' };
    for (;;) {
      const from = `(${loaded.index.seq}-0`;
      const changes = parseChanges(await this.redis.xrange(keys.changes, from, '+', 'COUNT', PAGE));
      if (changes.length === 0) {
        break;
      }
      loaded.hash = this.applyAll(loaded.index, loaded.recent, changes) ?? loaded.hash;
    }
    this.generation = generation;
    this.keys = keys;
    return loaded;
  }

  /** Applies changes in order; returns the short hash at the last one (undefined when none). */
  private applyAll(
    index: DecisionIndex,
    recent: RecentHashes,
    changes: ReturnType<typeof parseChanges>,
    firstSeqs?: ReadonlyMap<number, number>,
  ): string | undefined {
    let hash: string | undefined;
    for (const c of changes) {
      index.apply(c.record, c.seq, firstSeqs?.get(c.record.id));
      hash = shortHash(c.hash);
      recent.set(c.seq, hash);
    }
    return hash;
  }

  async find(filter: DecisionFilter, now: number) {
    await this.sync();
    return this.index.find(filter, now);
  }

  /**
   * Active decisions per (scenario, origin, type) in what this replica holds, for the metrics: no Redis call, and
   * requests are served between batches of the pass.
   */
  async countActive(now: number): Promise<ActiveCount[]> {
    const pass = this.index.countingActive(now);
    for (;;) {
      const step = pass.next();
      if (step.done) {
        return step.value;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** What this replica holds, without catching up: for when Redis cannot be reached. */
  findHeld(filter: DecisionFilter, now: number) {
    return this.index.find(filter, now);
  }

  /**
   * A stream pull. Without a cursor, or with one from another log: every decision, as on startup. With a cursor
   * ahead of this replica (Redis was emptied and the log is not rebuilt that far yet): nothing, and the same
   * cursor, so the bouncer gets those changes once a replica has them — never twice, never lost.
   */
  async pull(
    filter: DecisionFilter,
    dedup: boolean,
    cursor: ReplicaCursor | null,
    now: number | (() => number),
  ): Promise<ReplicaPage> {
    await this.sync();
    const index = this.index;
    if (cursor && cursor.seq > index.seq) {
      return { new: [], deleted: [], next: cursor, full: false };
    }
    // Pulled before the compaction cutoff: what ended since may be gone from the index, so a full answer.
    let verdict = cursor && cursor.pulledAt >= this.compacted ? await this.sameLog(cursor) : 'other';
    if (verdict === 'later') {
      return { new: [], deleted: [], next: cursor!, full: false };
    }
    if (this.index !== index) {
      verdict = 'other'; // reloaded meanwhile from a log numbered differently
    }
    // No await from here: the index (another pull's sync may have applied more while we waited), its hash and the
    // time are read together. The time is read last: a change applied, such as a deletion at time T, is never
    // judged at a time before T (the deleted decision would look active and go out in `new` again).
    const hash = this.hash;
    const at = typeof now === 'function' ? now() : now;
    const page = verdict === 'same' ? index.delta(filter, dedup, cursor!, at) : index.startup(filter, dedup, at);
    // Assigned, not spread: a startup page computes its lists only when read (most pulls send its body).
    return Object.assign(page, { next: { ...page.next, hash }, full: verdict !== 'same' });
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

interface Loaded {
  readonly index: DecisionIndex;
  readonly recent: RecentHashes;
  hash: string;
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
