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
      const results: AppendResult[] = [];
      const recorded: RecordedEvent[] = [];
      for (const [n, { streamId, events, expectedVersion, metadata }] of appends.entries()) {
        const last = await this.advanceStream(trx, streamId, BigInt(events.length), expectedVersion);
        const first = last - BigInt(events.length) + 1n;
        const meta = metadata ?? options.metadata;
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
      for (const projection of this.projections) {
        const relevant = recorded.filter((e) => projection.eventTypes.includes(e.type));
        if (relevant.length > 0) {
          await projection.apply(trx, relevant);
        }
      }
      return results;
    });
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
      .where(sql<boolean>`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`)
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
      .where(sql<boolean>`transaction_id < pg_snapshot_xmin(pg_current_snapshot())`)
      .orderBy('transaction_id', 'desc')
      .orderBy('global_position', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? { transactionId: BigInt(row.transaction_id), position: BigInt(row.global_position) } : START;
  }
}

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
const jsonbText = (text: string | TextPieces) => sql<string>`cast(${text} as text)::jsonb`;

// postgres.js hands back jsonb already parsed; PGlite too, but be lenient.
const parseJson = (value: unknown): unknown => (typeof value === 'string' ? JSON.parse(value) : value);
