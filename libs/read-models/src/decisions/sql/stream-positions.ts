import { positionOwner } from '@lapi/domain/bouncers/bouncer';
import type { DB } from '@lapi/event-store';
import { sql, type Kysely } from 'kysely';
import type { IndexCursor } from '../memory/decision-index';

// Positions kept in the `snapshot` column, tagged so that a position of the former SQL stream reads as none.
const TAG = 'index:';
// How often the times of positions that answered nothing new are written (a bouncer's last pull).
const TOUCH_EVERY_MS = 60_000;
// Positions moved by answers are written together, one statement per window: with 1,000 bouncers polling while
// decisions change, one statement per poll was most of what the database did (PGlite: a sync to disk each).
export const MOVED_WINDOW_MS = 100;

/**
 * Bouncers' stream positions in memory mode, in the `bouncer_cursors` table. A pull that answered something moves
 * the position (one write); a pull that answered nothing new writes nothing: the later time is only noted, and
 * written with the others once a minute (for `lapi bouncers list` and autodelete) — a position whose time is older
 * than the answers it gave only re-checks expiries that were none.
 *
 * Moved positions are written together once per MOVED_WINDOW_MS (`save` resolves once its position is written): the
 * same bouncer's next pull waits for that (PullDecisionStreamHandler), and a position lost with the process only
 * makes the next pull repeat what it answered.
 *
 * `cached`: this process is the database's only user (embedded mode), so positions are read once and then kept.
 */
export class SqlStreamPositions {
  private readonly cache = new Map<string, IndexCursor | null>();
  /** Positions whose time moved without a write: written by `flush`. */
  private readonly touched = new Map<string, IndexCursor>();
  private timer: NodeJS.Timeout | undefined;
  /** Positions moved by answers, not yet written; `movedWritten` resolves once they are. */
  private readonly moved = new Map<string, IndexCursor>();
  private movedWritten: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly cached: boolean,
  ) {}

  async load(bouncer: string): Promise<IndexCursor | null> {
    if (this.cached && this.cache.has(bouncer)) {
      return this.cache.get(bouncer)!;
    }
    const row = await this.db
      .selectFrom('bouncer_cursors')
      .select(['snapshot', 'pulled_at'])
      .where('bouncer', '=', bouncer)
      .executeTakeFirst();
    const seq = row?.snapshot.startsWith(TAG) ? Number(row.snapshot.slice(TAG.length)) : NaN;
    const cursor = Number.isSafeInteger(seq) ? { seq, pulledAt: new Date(row!.pulled_at).getTime() } : null;
    if (this.cached) {
      this.cache.set(bouncer, cursor);
    }
    return cursor;
  }

  /** After an answer reached the bouncer: `changed` when it held something or the position moved. */
  async save(bouncer: string, cursor: IndexCursor, changed: boolean): Promise<void> {
    if (!changed) {
      this.touched.set(bouncer, cursor);
      this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), TOUCH_EVERY_MS).unref();
      if (this.cached) {
        this.cache.set(bouncer, cursor);
      }
      return;
    }
    this.touched.delete(bouncer);
    this.moved.set(bouncer, cursor);
    this.movedWritten ??= new Promise((resolve) => setTimeout(resolve, MOVED_WINDOW_MS)).then(() => this.writeMoved());
    return this.movedWritten;
  }

  /** Writes the positions moved in the window, in one statement. */
  private async writeMoved(): Promise<void> {
    this.movedWritten = undefined;
    const moved = [...this.moved];
    this.moved.clear();
    const rows = moved.map(([bouncer, cursor]) => ({
      bouncer,
      snapshot: `${TAG}${cursor.seq}`,
      pulled_at: new Date(cursor.pulledAt),
    }));
    await this.db
      .insertInto('bouncer_cursors')
      .values(rows)
      .onConflict((oc) =>
        oc.column('bouncer').doUpdateSet((eb) => ({
          snapshot: eb.ref('excluded.snapshot'),
          pulled_at: eb.ref('excluded.pulled_at'),
        })),
      )
      .execute();
    if (this.cached) {
      for (const [bouncer, cursor] of moved) {
        this.cache.set(bouncer, cursor);
      }
    }
  }

  /** Writes the times noted since the last flush, in one statement; a position another pull moved is left as it is. */
  async flush(): Promise<void> {
    // Moved positions first: a time noted is only written to the position it was noted for.
    await this.movedWritten?.catch(() => undefined);
    this.timer = undefined;
    const touched = [...this.touched];
    this.touched.clear();
    if (touched.length === 0) {
      return;
    }
    await sql`
      update bouncer_cursors set pulled_at = greatest(bouncer_cursors.pulled_at, t.at)
      from unnest(
        ${touched.map(([bouncer]) => bouncer)}::text[],
        ${touched.map(([, cursor]) => `${TAG}${cursor.seq}`)}::text[],
        ${touched.map(([, cursor]) => new Date(cursor.pulledAt).toISOString())}::timestamptz[]
      ) as t(bouncer, snapshot, at)
      where bouncer_cursors.bouncer = t.bouncer and bouncer_cursors.snapshot = t.snapshot
    `.execute(this.db);
  }

  /** Drops what is kept of a deleted bouncer's positions (its rows go with it: bouncersProjection). */
  forget(bouncer: string): void {
    for (const map of [this.cache, this.touched, this.moved]) {
      for (const key of map.keys()) {
        if (positionOwner(key) === bouncer) {
          map.delete(key);
        }
      }
    }
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.flush();
  }
}
