import { pluginAlertsOf, type AlertReceived, type NotificationAlert } from '@lapi/domain';
import type { Checkpoint, DB, EventStore, RecordedEvent } from '@lapi/event-store';
import { sql, type Kysely } from 'kysely';
import { formatCheckpoint, parseCheckpoint, type ProjectionTarget } from '../coordination/projector';
import {
  DEAD_LETTERS_KEPT,
  type DeadNotification,
  type NotificationQueue,
  type PluginStatus,
  type QueuedNotification,
} from './notification-queue';

const PIPELINE = 'notifications';
// pg_try_advisory_xact_lock(int4, int4): 'lapi' and 1 for the notification dispatch. Nothing else takes this pair.
const LOCK_CLASS = 0x6c617069;
const DISPATCH_LOCK = 1;
/** How often the process running the pipeline notes it; `owner()` names it while the note is 3 times as recent. */
export const NOTIFICATION_OWNER_HEARTBEAT_MS = 10_000;
// Rows per INSERT: well below PostgreSQL's 65,535 bind parameters at 5 columns.
const INSERT_CHUNK = 1_000;

/** One notification to send: a due group of one plugin's queued alerts (the cluster's delivery job data). */
export interface NotificationBatch {
  readonly plugin: string;
  /** Ids of the queued entries, for the dead-letter list and the logs. */
  readonly entryIds: readonly string[];
  readonly alerts: readonly NotificationAlert[];
}

/** A delivery this process claimed: nobody else takes it until `due_at` (the claim's end) passes. */
export interface ClaimedDelivery {
  readonly id: string;
  readonly data: NotificationBatch;
  /** Failed attempts so far (0 on the first). */
  readonly attemptsMade: number;
  /** When the delivery was dispatched, ms since the epoch: the retries' elapsed time counts from here. */
  readonly createdAt: number;
}

/** How a claimed delivery ended (a failure to retry is recorded at once instead). */
export type SettledDelivery =
  | {
      readonly kind: 'delivered';
      readonly id: string;
      readonly plugin: string;
      readonly status: string;
      readonly at: number;
    }
  | { readonly kind: 'dead-lettered'; readonly id: string; readonly dead: DeadNotification };

/** Deliveries by state, with the names of the cluster's BullMQ job counts. */
export interface DeliveryCounts {
  /** Due now, including claims that ran out (their process died). */
  readonly waiting: number;
  /** Waiting for a retry's back-off. */
  readonly delayed: number;
  /** Claimed and in flight. */
  readonly active: number;
  /** Always 0: a delivery that fails for good goes to the dead letters, as in the cluster. */
  readonly failed: number;
}

const ms = (value: unknown): number => new Date(value as string | Date).getTime();
const iso = (value: unknown): string | null =>
  value === null || value === undefined ? null : new Date(ms(value)).toISOString();
const parseJson = <T>(value: unknown): T => (typeof value === 'string' ? JSON.parse(value) : value) as T;

/**
 * The notification pipeline in the database, for the API process without Redis (embedded and PostgreSQL-only
 * mode): the same queues, grouping input, statistics and dead letters as RedisNotificationQueue, durable across a
 * restart. Fed from the log like a projection: the checkpoint moves with a compare-and-set in the transaction that
 * queues the alerts, so a replayed batch queues nothing twice. A new pipeline starts at the head of the log.
 *
 * Deliveries are rows claimed with their due time: a claim moves `due_at` to the claim's end, so a process that
 * dies mid-delivery leaves a row that falls due again. Such a delivery may be sent twice, never lost.
 */
export class SqlNotificationQueue implements ProjectionTarget, NotificationQueue {
  readonly name = PIPELINE;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly store: Pick<EventStore, 'head'>,
    private readonly clock: () => number = Date.now,
  ) {}

  async checkpoint(): Promise<Checkpoint | null> {
    const current = await this.storedCheckpoint();
    if (current) {
      return current;
    }
    const head = formatCheckpoint(await this.store.head());
    // A racing process that started first wins, and both then agree.
    await this.db
      .insertInto('notification_pipeline')
      .values({ name: PIPELINE, checkpoint: head })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    return this.storedCheckpoint();
  }

  /** The checkpoint as stored, without starting a new pipeline at the head (for status). */
  async storedCheckpoint(): Promise<Checkpoint | null> {
    const row = await this.db
      .selectFrom('notification_pipeline')
      .select('checkpoint')
      .where('name', '=', PIPELINE)
      .executeTakeFirst();
    return parseCheckpoint(row?.checkpoint ?? null);
  }

  async apply(events: readonly RecordedEvent[], from: Checkpoint | null, to: Checkpoint): Promise<boolean> {
    const now = new Date(this.clock());
    const rows: { id: string; plugin: string; profile: string; alert: string; enqueued_at: Date }[] = [];
    for (const event of events) {
      if (event.type !== 'AlertReceived') {
        continue;
      }
      pluginAlertsOf(event as unknown as AlertReceived).forEach((a, i) => {
        rows.push({
          id: `${event.globalPosition}.${i}`,
          plugin: a.plugin,
          profile: a.profile,
          alert: JSON.stringify(a.alert),
          enqueued_at: now,
        });
      });
    }
    return this.db.transaction().execute(async (trx) => {
      const moved = from
        ? await trx
            .updateTable('notification_pipeline')
            .set({ checkpoint: formatCheckpoint(to) })
            .where('name', '=', PIPELINE)
            .where('checkpoint', '=', formatCheckpoint(from))
            .executeTakeFirst()
            .then((r) => r.numUpdatedRows)
        : await trx
            .insertInto('notification_pipeline')
            .values({ name: PIPELINE, checkpoint: formatCheckpoint(to) })
            .onConflict((oc) => oc.column('name').doNothing())
            .executeTakeFirst()
            .then((r) => r.numInsertedOrUpdatedRows ?? 0n);
      if (moved === 0n) {
        return false; // another process moved it first: it queued these
      }
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await trx
          .insertInto('notification_queue')
          .values(rows.slice(i, i + INSERT_CHUNK))
          .execute();
      }
      const perPlugin = new Map<string, number>();
      for (const row of rows) {
        perPlugin.set(row.plugin, (perPlugin.get(row.plugin) ?? 0) + 1);
      }
      for (const [plugin, count] of perPlugin) {
        await trx
          .insertInto('notification_plugins')
          .values({ plugin, enqueued: String(count) })
          .onConflict((oc) =>
            oc.column('plugin').doUpdateSet({ enqueued: sql`notification_plugins.enqueued + ${count}` }),
          )
          .execute();
      }
      return true;
    });
  }

  /**
   * Runs `work` with this queue inside one transaction, if no other process of the database runs it now (a
   * transaction-level advisory lock); undefined when another does. The dispatch's adds and trims commit together.
   */
  async exclusive<T>(work: (queue: SqlNotificationQueue) => Promise<T>): Promise<T | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{
        locked: boolean;
      }>`select pg_try_advisory_xact_lock(${LOCK_CLASS}, ${DISPATCH_LOCK}) as locked`.execute(trx);
      if (!rows[0]?.locked) {
        return undefined;
      }
      return work(new SqlNotificationQueue(trx, this.store, this.clock));
    });
  }

  /** True when some alert waits in a plugin's queue (a cheap test before taking the dispatch lock). */
  async anyQueued(): Promise<boolean> {
    const row = await this.db.selectFrom('notification_queue').select('seq').limit(1).executeTakeFirst();
    return row !== undefined;
  }

  async plugins(): Promise<string[]> {
    const rows = await this.db.selectFrom('notification_plugins').select('plugin').orderBy('plugin').execute();
    return rows.map((r) => r.plugin);
  }

  async queued(plugin: string): Promise<QueuedNotification[]> {
    const rows = await this.db
      .selectFrom('notification_queue')
      .select(['id', 'plugin', 'profile', 'alert', 'enqueued_at'])
      .where('plugin', '=', plugin)
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      plugin: r.plugin,
      profile: r.profile,
      alert: parseJson<NotificationAlert>(r.alert),
      enqueuedAt: ms(r.enqueued_at),
    }));
  }

  async lastFlushAt(plugin: string): Promise<number | null> {
    const row = await this.db
      .selectFrom('notification_plugins')
      .select('last_flush_at')
      .where('plugin', '=', plugin)
      .executeTakeFirst();
    return row?.last_flush_at ? ms(row.last_flush_at) : null;
  }

  /**
   * Trims by count, as the Redis queue does: the dispatcher holds the advisory lock, and `seq` is drawn while `apply`
   * holds the pipeline row, so rows committed since `queued` was read all come after the ones it returned.
   */
  async taken(plugin: string, count: number, at: number): Promise<void> {
    await this.db
      .deleteFrom('notification_queue')
      .where('seq', 'in', (eb) =>
        eb.selectFrom('notification_queue').select('seq').where('plugin', '=', plugin).orderBy('seq').limit(count),
      )
      .execute();
    await this.upsertPlugin(plugin, { last_flush_at: new Date(at) });
  }

  /** Due groups, to be sent from `now` on; adding an id that is already there adds nothing. */
  async addDeliveries(deliveries: readonly { id: string; data: NotificationBatch }[], now: number): Promise<void> {
    for (let i = 0; i < deliveries.length; i += INSERT_CHUNK) {
      await this.db
        .insertInto('notification_deliveries')
        .values(
          deliveries.slice(i, i + INSERT_CHUNK).map(({ id, data }) => ({
            id,
            plugin: data.plugin,
            data: JSON.stringify(data),
            created_at: new Date(now),
            due_at: new Date(now),
          })),
        )
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    }
  }

  /** Takes up to `limit` due deliveries (oldest due first) for `claimMs`; rows other processes hold are skipped. */
  async claim(owner: string, limit: number, now: number, claimMs: number): Promise<ClaimedDelivery[]> {
    if (limit <= 0) {
      return [];
    }
    const { rows } = await sql<{ id: string; data: unknown; attempts_made: number; created_at: unknown }>`
      update notification_deliveries set claimed_by = ${owner}, due_at = ${new Date(now + claimMs)}
      where id in (
        select id from notification_deliveries where due_at <= ${new Date(now)}
        order by due_at limit ${limit} for update skip locked
      )
      returning id, data, attempts_made, created_at`.execute(this.db);
    return rows.map((r) => ({
      id: r.id,
      data: parseJson<NotificationBatch>(r.data),
      attemptsMade: Number(r.attempts_made),
      createdAt: ms(r.created_at),
    }));
  }

  /**
   * Claimed deliveries done (sent, or given up on): their rows removed and their outcomes recorded, in one
   * transaction for the lot (one commit, however many notifications a round sent).
   */
  async settle(owner: string, outcomes: readonly SettledDelivery[]): Promise<void> {
    if (outcomes.length === 0) {
      return;
    }
    await this.db.transaction().execute(async (trx) => {
      const queue = new SqlNotificationQueue(trx, this.store, this.clock);
      await trx
        .deleteFrom('notification_deliveries')
        .where('claimed_by', '=', owner)
        .where(
          'id',
          'in',
          outcomes.map((o) => o.id),
        )
        .execute();
      const delivered = new Map<string, { count: number; last: { status: string; at: number } }>();
      for (const o of outcomes) {
        if (o.kind === 'delivered') {
          const count = (delivered.get(o.plugin)?.count ?? 0) + 1;
          delivered.set(o.plugin, { count, last: { status: o.status, at: o.at } });
        } else {
          await queue.deadLetter(o.dead);
        }
      }
      for (const [plugin, { count, last }] of delivered) {
        await queue.upsertPlugin(
          plugin,
          { last_status: last.status, last_delivered_at: new Date(last.at), delivered: String(count) },
          { delivered: sql`notification_plugins.delivered + ${count}` },
        );
      }
    });
  }

  /** A claimed delivery failed: tried again after `delayMs`. */
  async retryLater(id: string, owner: string, delayMs: number, now: number): Promise<void> {
    await this.db
      .updateTable('notification_deliveries')
      .set({ claimed_by: null, due_at: new Date(now + delayMs), attempts_made: sql`attempts_made + 1` })
      .where('id', '=', id)
      .where('claimed_by', '=', owner)
      .execute();
  }

  /**
   * Every claim ends now: for a process that knows it is the database's only user (embedded mode, behind the data
   * directory's lock), claims left by its previous run are deliveries that crash interrupted.
   */
  async releaseClaims(now: number): Promise<number> {
    const result = await this.db
      .updateTable('notification_deliveries')
      .set({ claimed_by: null, due_at: new Date(now) })
      .where('claimed_by', 'is not', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async deliveryCounts(now: number): Promise<DeliveryCounts> {
    const { rows } = await sql<{ waiting: string | number; delayed: string | number; active: string | number }>`
      select
        count(*) filter (where due_at <= ${new Date(now)}) as waiting,
        count(*) filter (where due_at > ${new Date(now)} and claimed_by is null) as delayed,
        count(*) filter (where due_at > ${new Date(now)} and claimed_by is not null) as active
      from notification_deliveries`.execute(this.db);
    const row = rows[0];
    return { waiting: Number(row.waiting), delayed: Number(row.delayed), active: Number(row.active), failed: 0 };
  }

  /** Notes which process runs the pipeline (`lapi notifications status` shows it while it is recent). */
  async heartbeat(owner: string, now: number): Promise<void> {
    await this.db
      .updateTable('notification_pipeline')
      .set({ owner, owner_at: new Date(now) })
      .where('name', '=', PIPELINE)
      .execute();
  }

  /** The process that ran the pipeline last, if it did lately. */
  async owner(now: number): Promise<string | null> {
    const row = await this.db
      .selectFrom('notification_pipeline')
      .select(['owner', 'owner_at'])
      .where('name', '=', PIPELINE)
      .executeTakeFirst();
    return row?.owner && row.owner_at && now - ms(row.owner_at) <= 3 * NOTIFICATION_OWNER_HEARTBEAT_MS
      ? row.owner
      : null;
  }

  async recordDelivery(plugin: string, outcome: { status: string; at: number }): Promise<void> {
    await this.upsertPlugin(
      plugin,
      { last_status: outcome.status, last_delivered_at: new Date(outcome.at), delivered: '1' },
      { delivered: sql`notification_plugins.delivered + 1` },
    );
  }

  async recordFailure(plugin: string, error: string, at: number): Promise<void> {
    await this.upsertPlugin(
      plugin,
      { last_error: error, last_error_at: new Date(at), failed_attempts: '1' },
      { failed_attempts: sql`notification_plugins.failed_attempts + 1` },
    );
  }

  async deadLetter(dead: DeadNotification): Promise<void> {
    await this.db
      .insertInto('notification_dead_letters')
      .values({
        plugin: dead.plugin,
        job: dead.job,
        alerts: dead.alerts,
        attempts: dead.attempts,
        reason: dead.reason,
        at: dead.at,
      })
      .execute();
    await sql`delete from notification_dead_letters where seq <= (
      select seq from notification_dead_letters order by seq desc offset ${DEAD_LETTERS_KEPT} limit 1
    )`.execute(this.db);
    await this.upsertPlugin(
      dead.plugin,
      { dead_lettered: '1' },
      { dead_lettered: sql`notification_plugins.dead_lettered + 1` },
    );
  }

  async deadLetters(limit = 100): Promise<DeadNotification[]> {
    const rows = await this.db
      .selectFrom('notification_dead_letters')
      .select(['plugin', 'job', 'alerts', 'attempts', 'reason', 'at'])
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      plugin: r.plugin,
      job: r.job,
      alerts: Number(r.alerts),
      attempts: Number(r.attempts),
      reason: r.reason,
      at: iso(r.at)!,
    }));
  }

  async status(plugin: string): Promise<PluginStatus> {
    const [queued, stats] = await Promise.all([
      this.db
        .selectFrom('notification_queue')
        .select((eb) => eb.fn.countAll<string | number>().as('n'))
        .where('plugin', '=', plugin)
        .executeTakeFirstOrThrow(),
      this.db.selectFrom('notification_plugins').selectAll().where('plugin', '=', plugin).executeTakeFirst(),
    ]);
    return {
      plugin,
      queued: Number(queued.n),
      enqueued: Number(stats?.enqueued ?? 0),
      delivered: Number(stats?.delivered ?? 0),
      failedAttempts: Number(stats?.failed_attempts ?? 0),
      deadLettered: Number(stats?.dead_lettered ?? 0),
      lastFlushAt: iso(stats?.last_flush_at),
      lastDeliveredAt: iso(stats?.last_delivered_at),
      lastStatus: stats?.last_status ?? null,
      lastError: stats?.last_error ?? null,
    };
  }

  private async upsertPlugin(
    plugin: string,
    values: Partial<{
      last_flush_at: Date;
      last_delivered_at: Date;
      last_status: string;
      last_error: string;
      last_error_at: Date;
      delivered: string;
      failed_attempts: string;
      dead_lettered: string;
    }>,
    increments: Record<string, ReturnType<typeof sql>> = {},
  ): Promise<void> {
    const { delivered: _d, failed_attempts: _f, dead_lettered: _x, ...plain } = values;
    await this.db
      .insertInto('notification_plugins')
      .values({ plugin, ...values })
      .onConflict((oc) => oc.column('plugin').doUpdateSet({ ...plain, ...increments }))
      .execute();
  }
}
