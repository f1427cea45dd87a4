import type { DomainEvent, EventMetadata } from '@lapi/domain';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { DB, EventsTable } from './db';
import {
  ConcurrencyError,
  START,
  type AppendResult,
  type Checkpoint,
  type EventStore,
  type ExpectedVersion,
  type InlineProjection,
  type RecordedEvent,
} from './event-store';
import { jsonInSlices, Slicer, TextPieces } from './json-slices';

interface Append {
  readonly streamId: string;
  readonly events: readonly DomainEvent[];
  readonly expectedVersion: ExpectedVersion;
  readonly metadata?: EventMetadata;
}

/** The event store on Postgres, or on PGlite through the same Kysely schema. */
export class PostgresEventStore implements EventStore {
  constructor(
    private readonly db: Kysely<DB>,
    private readonly projections: readonly InlineProjection[] = [],
  ) {}

  async appendToStream(
    streamId: string,
    events: readonly DomainEvent[],
    options: { expectedVersion: ExpectedVersion; metadata: EventMetadata },
  ): Promise<AppendResult> {
    const [result] = await this.appendToStreams(
      [{ streamId, events, expectedVersion: options.expectedVersion }],
      options,
    );
    return result;
  }

  async appendToStreams(
    appends: readonly {
      streamId: string;
      events: readonly DomainEvent[];
      expectedVersion: ExpectedVersion;
      metadata?: EventMetadata;
    }[],
    options: { metadata: EventMetadata },
  ): Promise<AppendResult[]> {
    if (appends.length === 0 || appends.some((a) => a.events.length === 0)) {
      throw new Error('every append needs at least one event');
    }
    // The stored text is parsed back here rather than returned by the server: an alert carrying thousands of
    // decisions would otherwise cross the connection twice. Both before the transaction: on a big alert they take
    // a while, and an open transaction holds the embedded database's single connection.
    // In slices, as the event of a 100k-decision alert is ~20 MB of JSON: other requests go on meanwhile.
    const slicer = new Slicer();
    // The text stays in pieces (the driver joins or encodes them): a fresh 20 MB string alone took 50-200 ms.
    const texts: TextPieces[][] = [];
    const copies: object[][] = [];
    for (const a of appends) {
      const eventTexts: TextPieces[] = [];
      const eventCopies: object[] = [];
      for (const e of a.events) {
        const { pieces, copy } = await jsonInSlices(e.data, slicer);
        eventTexts.push(new TextPieces(pieces));
        eventCopies.push(copy as object);
      }
      texts.push(eventTexts);
      copies.push(eventCopies);
    }
    return this.db.transaction().execute(async (trx) => {
      // First, before any write gives the transaction its id: readers rely on it (see LOG_BOUND).
      await sql`select pg_advisory_xact_lock_shared(${LOG_LOCK_CLASS}, ${LOG_WRITERS_LOCK})`.execute(trx);
      const results: AppendResult[] = [];
      const recorded: RecordedEvent[] = [];
      if (batchable(appends)) {
        // Many streams (an admin's bulk command): a few statements for all of them rather than a few for each.
        await this.appendBatched(trx, appends, options.metadata, texts, copies, results, recorded);
      } else {
        await this.appendEach(trx, appends, options.metadata, texts, copies, results, recorded);
      }
      for (const projection of this.projections) {
        const relevant = recorded.filter((e) => projection.eventTypes.includes(e.type));
        if (relevant.length > 0) {
          await projection.apply(trx, relevant);
        }
      }
      return results;
    });
  }

  /** One append after the other: a statement or two per stream. */
  private async appendEach(
    trx: Transaction<DB>,
    appends: readonly Append[],
    defaultMetadata: EventMetadata,
    texts: TextPieces[][],
    copies: object[][],
    results: AppendResult[],
    recorded: RecordedEvent[],
  ): Promise<void> {
    for (const [n, { streamId, events, expectedVersion, metadata }] of appends.entries()) {
      const last = await this.advanceStream(trx, streamId, BigInt(events.length), expectedVersion);
      const first = last - BigInt(events.length) + 1n;
      const meta = metadata ?? defaultMetadata;
      const rows = await trx
        .insertInto('events')
        .values(
          events.map((e, i) => ({
            stream_id: streamId,
            stream_version: String(first + BigInt(i)),
            type: e.type,
            data: jsonbText(texts[n][i]),
            metadata: jsonb(meta),
          })),
        )
        .returning(['stream_version', 'global_position', 'transaction_id', 'created_at'])
        .execute();
      const stored = rows.map((row, i): RecordedEvent => ({
        type: events[i].type,
        data: copies[n][i],
        metadata: meta,
        streamId,
        streamVersion: BigInt(row.stream_version),
        globalPosition: BigInt(row.global_position),
        transactionId: BigInt(row.transaction_id),
        createdAt: new Date(row.created_at),
      }));
      recorded.push(...stored);
      const tail = stored[stored.length - 1];
      results.push({
        nextExpectedVersion: last,
        lastPosition: tail.globalPosition,
        transactionId: tail.transactionId,
      });
    }
  }

  /**
   * appendToStreams for many distinct streams, none expected at 'any': the streams' versions are moved in one
   * statement per kind of expectation, the events inserted in one statement (per chunk), matched back by stream and
   * version. The same outcome as one append after the other: all appended, or ConcurrencyError and none.
   */
  private async appendBatched(
    trx: Transaction<DB>,
    appends: readonly {
      streamId: string;
      events: readonly DomainEvent[];
      expectedVersion: ExpectedVersion;
      metadata?: EventMetadata;
    }[],
    defaultMetadata: EventMetadata,
    texts: TextPieces[][],
    copies: object[][],
    results: AppendResult[],
    recorded: RecordedEvent[],
  ): Promise<void> {
    const versions = new Map<string, bigint>();
    const fresh = appends.filter((a) => a.expectedVersion === 'no_stream' || a.expectedVersion === 0n);
    const moved = appends.filter((a) => typeof a.expectedVersion === 'bigint' && a.expectedVersion > 0n);
    for (let from = 0; from < fresh.length; from += BATCH_ROWS) {
      const rows = await trx
        .insertInto('streams')
        .values(
          fresh
            .slice(from, from + BATCH_ROWS)
            .map((a) => ({ stream_id: a.streamId, version: String(a.events.length) })),
        )
        .onConflict((oc) => oc.column('stream_id').doNothing())
        .returning(['stream_id', 'version'])
        .execute();
      rows.forEach((r) => versions.set(r.stream_id, BigInt(r.version)));
    }
    for (let from = 0; from < moved.length; from += BATCH_ROWS) {
      const part = moved.slice(from, from + BATCH_ROWS);
      // Under READ COMMITTED a concurrent writer blocks here, then sees the moved version and matches nothing.
      const { rows } = await sql<{ stream_id: string; version: string }>`
        update streams set version = streams.version + v.count, updated_at = now()
        from (values ${sql.join(
          part.map(
            (a) => sql`(${a.streamId}, ${String(a.expectedVersion)}::bigint, ${String(a.events.length)}::bigint)`,
          ),
        )}) as v(stream_id, expected, count)
        where streams.stream_id = v.stream_id and streams.version = v.expected
        returning streams.stream_id, streams.version`.execute(trx);
      rows.forEach((r) => versions.set(r.stream_id, BigInt(r.version)));
    }
    const stale = appends.find((a) => !versions.has(a.streamId));
    if (stale) {
      throw new ConcurrencyError(stale.streamId, stale.expectedVersion);
    }
    const rows = appends.flatMap((a, n) => {
      const first = versions.get(a.streamId)! - BigInt(a.events.length) + 1n;
      const meta = jsonb(a.metadata ?? defaultMetadata);
      return a.events.map((e, i) => ({
        stream_id: a.streamId,
        stream_version: String(first + BigInt(i)),
        type: e.type,
        data: jsonbText(texts[n][i]),
        metadata: meta,
      }));
    });
    const stored = new Map<string, Pick<RecordedEvent, 'globalPosition' | 'transactionId' | 'createdAt'>>();
    for (let from = 0; from < rows.length; from += BATCH_ROWS) {
      const inserted = await trx
        .insertInto('events')
        .values(rows.slice(from, from + BATCH_ROWS))
        .returning(['stream_id', 'stream_version', 'global_position', 'transaction_id', 'created_at'])
        .execute();
      for (const r of inserted) {
        stored.set(`${r.stream_id}\u0000${BigInt(r.stream_version)}`, {
          globalPosition: BigInt(r.global_position),
          transactionId: BigInt(r.transaction_id),
          createdAt: new Date(r.created_at),
        });
      }
    }
    for (const [n, a] of appends.entries()) {
      const last = versions.get(a.streamId)!;
      const first = last - BigInt(a.events.length) + 1n;
      const events = a.events.map((e, i): RecordedEvent => ({
        type: e.type,
        data: copies[n][i],
        metadata: a.metadata ?? defaultMetadata,
        streamId: a.streamId,
        streamVersion: first + BigInt(i),
        ...stored.get(`${a.streamId}\u0000${first + BigInt(i)}`)!,
      }));
      recorded.push(...events);
      const tail = events[events.length - 1];
      results.push({ nextExpectedVersion: last, lastPosition: tail.globalPosition, transactionId: tail.transactionId });
    }
  }

  /** Moves the stream's version by `count` if it is where the caller expects; returns the new version. */
  private async advanceStream(
    trx: Transaction<DB>,
    streamId: string,
    count: bigint,
    expected: ExpectedVersion,
  ): Promise<bigint> {
    let row: { version: string | number | bigint } | undefined;
    if (expected === 'no_stream') {
      row = await trx
        .insertInto('streams')
        .values({ stream_id: streamId, version: String(count) })
        .onConflict((oc) => oc.column('stream_id').doNothing())
        .returning('version')
        .executeTakeFirst();
    } else if (expected === 'any') {
      row = await trx
        .insertInto('streams')
        .values({ stream_id: streamId, version: String(count) })
        .onConflict((oc) =>
          oc
            .column('stream_id')
            .doUpdateSet({ version: sql`streams.version + ${String(count)}::bigint`, updated_at: sql`now()` }),
        )
        .returning('version')
        .executeTakeFirst();
    } else if (expected === 0n) {
      return this.advanceStream(trx, streamId, count, 'no_stream');
    } else {
      // Under READ COMMITTED a concurrent writer blocks here, then sees the moved version and matches nothing.
      row = await trx
        .updateTable('streams')
        .set({ version: sql`version + ${String(count)}::bigint`, updated_at: sql`now()` })
        .where('stream_id', '=', streamId)
        .where('version', '=', String(expected))
        .returning('version')
        .executeTakeFirst();
    }
    if (!row) {
      throw new ConcurrencyError(streamId, expected);
    }
    return BigInt(row.version);
  }

  async readStream(streamId: string, options: { fromVersion?: bigint } = {}): Promise<RecordedEvent[]> {
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where('stream_id', '=', streamId)
      .where('stream_version', '>=', String(options.fromVersion ?? 1n))
      .orderBy('stream_version')
      .execute();
    return rows.map(toRecorded);
  }

  async countAfter(after: Checkpoint): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where(
        sql<boolean>`(transaction_id, global_position) > (${String(after.transactionId)}::xid8, ${String(after.position)}::bigint)`,
      )
      .executeTakeFirstOrThrow();
    return Number(row.count);
  }

  async lagAfter(after: Checkpoint): Promise<number> {
    const row = await this.db
      .selectFrom('events')
      .select(sql<string>`extract(epoch from clock_timestamp() - created_at) * 1000`.as('lag'))
      .where(
        sql<boolean>`(transaction_id, global_position) > (${String(after.transactionId)}::xid8, ${String(after.position)}::bigint)`,
      )
      .orderBy('transaction_id')
      .orderBy('global_position')
      .limit(1)
      .executeTakeFirst();
    return row ? Math.max(0, Math.round(Number(row.lag))) : 0;
  }

  async streamVersion(streamId: string): Promise<bigint> {
    const row = await this.db
      .selectFrom('streams')
      .select('version')
      .where('stream_id', '=', streamId)
      .executeTakeFirst();
    return row ? BigInt(row.version) : 0n;
  }

  async readAll(after: Checkpoint, limit: number): Promise<{ events: RecordedEvent[]; checkpoint: Checkpoint }> {
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where(
        sql<boolean>`(transaction_id, global_position) > (${String(after.transactionId)}::xid8, ${String(after.position)}::bigint)`,
      )
      .where(sql<boolean>`transaction_id < ${LOG_BOUND}`)
      .orderBy('transaction_id')
      .orderBy('global_position')
      .limit(limit)
      .execute();
    const events = rows.map(toRecorded);
    const last = events[events.length - 1];
    return {
      events,
      checkpoint: last ? { transactionId: last.transactionId, position: last.globalPosition } : after,
    };
  }
  async head(): Promise<Checkpoint> {
    const row = await this.db
      .selectFrom('events')
      .select(['transaction_id', 'global_position'])
      .where(sql<boolean>`transaction_id < ${LOG_BOUND}`)
      .orderBy('transaction_id', 'desc')
      .orderBy('global_position', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { transactionId: BigInt(row.transaction_id), position: BigInt(row.global_position) } : START;
  }
}

// pg_advisory_xact_lock_shared(int4, int4): 'lapi' (as the notification dispatch's lock) and 2, taken by every
// transaction that appends to the log. Shared: writers never wait on each other. Nothing else takes this pair.
const LOG_LOCK_CLASS = sql.lit(0x6c617069);
const LOG_WRITERS_LOCK = sql.lit(2);

/**
 * The transaction id below which every event is committed and visible to this statement: the smallest id, in this
 * statement's snapshot S, of a transaction still running that may be adding events to this log; S's xmax if none.
 * Reading only below it, in (transaction id, position) order, a reader never moves past an event that commits later.
 *
 * Not S's xmin, which is server-wide: any transaction open anywhere on the server (another database, another table)
 * would hold every reader back. Why nothing is skipped: an id below the bound was assigned before S (ids assigned
 * after S are >= xmax(S)), so it either ended before S (its events, if any, are visible in S) or is running at S
 * (in pg_snapshot_xip(S)) and was left out of the minimum because, when checked after S, it was
 * - still running (pg_xact_status, read last: the join needs the writers' row first), so also at the earlier reads
 *   of the locks and of the backends' ids,
 * - and did not hold the writers' lock then. A writer takes that lock before its first write, so before it has an
 *   id, and keeps it to its end: a transaction that had an id at S and lacks the lock later never writes events.
 * An id that ended between S and the check may have written events S cannot see: it counts (conservative).
 * A backend's id is read from its activity (set with the id), not from its transactionid lock (taken a moment
 * after); that read is cached for the rest of a transaction, and readAll/head run as statements of their own.
 * Prepared transactions (no backend) of this database count, whatever they hold.
 * The functions, not the pg_locks/pg_stat_activity views: planning the views' joins took longer than the read.
 * On PGlite (one connection) no other transaction runs: the bound is S's xmax, exact too.
 */
const LOG_BOUND = sql<string>`(
  select least(pg_snapshot_xmax(pg_current_snapshot()), min(running.xid))
  from (
    select array_agg(activity.backend_xid) as xids
    from pg_lock_status() writer, lateral pg_stat_get_activity(writer.pid) activity
    where writer.locktype = 'advisory' and writer.classid = ${LOG_LOCK_CLASS} and writer.objid = ${LOG_WRITERS_LOCK}
      and writer.objsubid = 2 and writer.database = (select oid from pg_database where datname = current_database())
  ) writers,
  pg_snapshot_xip(pg_current_snapshot()) running(xid)
  where running.xid::xid = any(writers.xids)
    or running.xid::xid in (
      select transaction from pg_prepared_xact()
      where dbid = (select oid from pg_database where datname = current_database())
    )
    or pg_xact_status(running.xid) <> 'in progress'
)`;

const toRecorded = (row: Selectable<EventsTable>): RecordedEvent => ({
  type: row.type,
  data: parseJson(row.data) as object,
  metadata: parseJson(row.metadata) as EventMetadata,
  streamId: row.stream_id,
  streamVersion: BigInt(row.stream_version),
  globalPosition: BigInt(row.global_position),
  transactionId: BigInt(row.transaction_id),
  createdAt: new Date(row.created_at),
});

// Sent as text and cast in SQL: postgres.js JSON-encodes a jsonb parameter itself, so a string given for one would be
// stored as a JSON string rather than an object (rows written that way before are still read, see parseJson).
const jsonb = (value: unknown) => jsonbText(JSON.stringify(value));

// Rows per statement in a batched append: 5 parameters each stays far below PostgreSQL's 65,535.
const BATCH_ROWS = 1_000;
// Below this, one append after the other costs no more.
const BATCH_FROM = 16;

/** Whether appendToStreams may take the batched path: many streams, each once, none at 'any'. */
const batchable = (appends: readonly { streamId: string; expectedVersion: ExpectedVersion }[]): boolean =>
  appends.length >= BATCH_FROM &&
  appends.every((a) => a.expectedVersion !== 'any') &&
  new Set(appends.map((a) => a.streamId)).size === appends.length;
const jsonbText = (text: string | TextPieces) => sql<string>`cast(${text} as text)::jsonb`;

// postgres.js hands back jsonb already parsed; PGlite too, but be lenient.
const parseJson = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);
