import type { IpRange } from '@lapi/domain';
import type { DB } from '@lapi/event-store';
import { sql, type ExpressionBuilder, type Kysely, type SelectQueryBuilder } from 'kysely';

/** What the bouncer endpoints filter on (reference §3.12/§3.13), already parsed. */
export interface DecisionFilter {
  readonly ip?: IpRange;
  readonly range?: IpRange;
  /** true: decisions covering the queried IP/range; false: decisions inside it. */
  readonly contains: boolean;
  readonly scopes?: readonly string[];
  readonly value?: string;
  readonly type?: string;
  readonly origins?: readonly string[];
  readonly scenariosContaining?: readonly string[];
  readonly scenariosNotContaining?: readonly string[];
  readonly includeSimulated: boolean;
}

/** A decision as the bouncer endpoints answer it; `until` turns into a duration at render time. */
export interface DecisionView {
  readonly id: number;
  readonly uuid: string;
  readonly origin: string;
  readonly type: string;
  readonly scope: string;
  readonly value: string;
  readonly scenario: string;
  readonly simulated: boolean;
  readonly until: Date;
}

type Row = {
  id: string;
  uuid: string;
  origin: string;
  type: string;
  scope: string;
  value: string;
  scenario: string;
  simulated: boolean;
  until: Date;
};
type Query = SelectQueryBuilder<DB, 'decisions', Row>;

const columns = ['id', 'uuid', 'origin', 'type', 'scope', 'value', 'scenario', 'simulated', 'until'] as const;

export function applyDecisionFilter(query: Query, f: DecisionFilter): Query {
  let q = query;
  for (const target of [f.ip, f.range]) {
    if (target) {
      q = q.where(containment(target, f.contains));
    }
  }
  if (f.scopes) {
    q = f.scopes.length === 0 ? q.where(sql<boolean>`false`) : q.where('decisions.scope', 'in', [...f.scopes]);
  }
  if (f.value !== undefined) {
    q = q.where('decisions.value', '=', f.value);
  }
  if (f.type !== undefined) {
    q = q.where('decisions.type', '=', f.type);
  }
  if (f.origins) {
    q = f.origins.length === 0 ? q : q.where('decisions.origin', 'in', [...f.origins]);
  }
  if (f.scenariosContaining?.length) {
    const words = f.scenariosContaining;
    q = q.where((eb) =>
      eb.or(words.map((w) => eb(sql`strpos(lower(decisions.scenario), ${w.toLowerCase()})`, '>', 0))),
    );
  }
  if (f.scenariosNotContaining?.length) {
    const words = f.scenariosNotContaining;
    q = q.where((eb) =>
      eb.and(words.map((w) => eb(sql`strpos(lower(decisions.scenario), ${w.toLowerCase()})`, '=', 0))),
    );
  }
  if (!f.includeSimulated) {
    q = q.where('decisions.simulated', '=', false);
  }
  return q;
}

/** Reference §5.3: same family, and the decision's range covers (or lies inside) the queried one. */
export const containment = (target: IpRange, contains: boolean) => (eb: ExpressionBuilder<DB, 'decisions'>) => {
  const start = sql<string>`${target.start.toString()}::numeric`;
  const end = sql<string>`${target.end.toString()}::numeric`;
  return eb.and([
    eb('decisions.ip_family', '=', target.family),
    contains ? eb('decisions.ip_start', '<=', start) : eb('decisions.ip_start', '>=', start),
    contains ? eb('decisions.ip_end', '>=', end) : eb('decisions.ip_end', '<=', end),
  ]);
};

/** "Longest decision wins" (§5.5): no other row with the same value, type and scope lasts strictly longer. */
const longest = (eb: ExpressionBuilder<DB, 'decisions'>) =>
  eb.not(
    eb.exists(
      eb
        .selectFrom('decisions as longer')
        .select(sql`1`.as('one'))
        .whereRef('longer.value', '=', 'decisions.value')
        .whereRef('longer.type', '=', 'decisions.type')
        .whereRef('longer.scope', '=', 'decisions.scope')
        .whereRef('longer.until', '>', 'decisions.until'),
    ),
  );

const toView = (r: Row): DecisionView => ({ ...r, id: Number(r.id), until: new Date(r.until) });

/** GET /v1/decisions: active decisions matching the filter, no dedup. */
export async function findActiveDecisions(db: Kysely<DB>, filter: DecisionFilter, now: Date): Promise<DecisionView[]> {
  const rows = await applyDecisionFilter(db.selectFrom('decisions').select(columns), filter)
    .where('until', '>', now)
    .where('removed', '=', false)
    .orderBy('id')
    .execute();
  return rows.map(toView);
}

export interface StreamCursor {
  /** The database snapshot the previous pull read: what it saw is delivered, what it could not see is not yet. */
  readonly snapshot: string;
  /** Expiries up to this time were delivered. */
  readonly pulledAt: Date;
}

export interface StreamPage {
  readonly new: DecisionView[];
  readonly deleted: DecisionView[];
  readonly next: StreamCursor;
}

/**
 * One pull of the stream. Without a cursor (startup, or a bouncer's first pull) `new` holds every active decision
 * and `deleted` every expired one still stored. With a cursor, `new` holds what was created by transactions the
 * previous pull could not see (committed since, even late and out of order), and `deleted` what such transactions
 * deleted plus what expired since the previous pull. Comparing snapshots rather than a transaction-id watermark
 * means a transaction left open elsewhere on the server delays nothing.
 */
export async function pullStream(
  db: Kysely<DB>,
  filter: DecisionFilter,
  options: { cursor: StreamCursor | null; dedup: boolean; now: Date },
): Promise<StreamPage> {
  // Repeatable read: every query below sees the one snapshot that becomes the next cursor.
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const { rows } = await sql<{ snapshot: string }>`select pg_current_snapshot()::text as snapshot`.execute(trx);
      const next = { snapshot: rows[0].snapshot, pulledAt: options.now };
      const page = await readStreamPage(trx, filter, options);
      return { ...page, next };
    });
}

async function readStreamPage(
  db: Kysely<DB>,
  filter: DecisionFilter,
  { cursor, dedup, now }: { cursor: StreamCursor | null; dedup: boolean; now: Date },
): Promise<Omit<StreamPage, 'next'>> {
  const base = () => {
    const q = applyDecisionFilter(db.selectFrom('decisions').select(columns), filter);
    return dedup ? q.where(longest) : q;
  };
  const active = () => base().where('until', '>', now).where('removed', '=', false);
  const expired = () => base().where('until', '<=', now);
  if (!cursor) {
    const [created, deleted] = await Promise.all([active().orderBy('id').execute(), expired().orderBy('id').execute()]);
    return { new: created.map(toView), deleted: deleted.map(toView) };
  }
  // Written by a transaction the previous pull could not see; the xmin bound lets the index narrow the scan.
  const unseen = (column: string) =>
    sql<boolean>`${sql.ref(column)} >= pg_snapshot_xmin(${cursor.snapshot}::pg_snapshot)
      and not pg_visible_in_snapshot(${sql.ref(column)}, ${cursor.snapshot}::pg_snapshot)`;
  // Each part is its own query so that each can use its index (an OR across them makes Postgres scan the table).
  const [created, expiredSince, deleted] = await Promise.all([
    active().where(unseen('decisions.created_xid')).execute(),
    expired().where('until', '>', cursor.pulledAt).execute(),
    db
      .selectFrom('decisions')
      .select(['id', 'value', 'type', 'scope'])
      .where(unseen('decisions.changed_xid'))
      .execute(),
  ]);
  // An improvement on the reference: for a value whose longer decision was deleted early, the decision that is now
  // the longest goes out again in `new`, so the bouncer learns the shorter time left.
  const changedKeys = [...new Map(deleted.map((d) => [`${d.type}\u0000${d.scope}\u0000${d.value}`, d])).values()];
  const [resent, deletedRows] = await Promise.all([
    changedKeys.length === 0
      ? Promise.resolve([])
      : active()
          .where((eb) =>
            eb.or(
              changedKeys.map((k) =>
                eb.and([
                  eb('decisions.value', '=', k.value),
                  eb('decisions.type', '=', k.type),
                  eb('decisions.scope', '=', k.scope),
                ]),
              ),
            ),
          )
          .execute(),
    deleted.length === 0
      ? Promise.resolve([])
      : expired()
          .where(sql<boolean>`decisions.id = any(${deleted.map((d) => String(d.id))}::bigint[])`)
          .execute(),
  ]);
  return { new: byId(created, resent), deleted: byId(expiredSince, deletedRows) };
}

const byId = (...lists: Row[][]): DecisionView[] => {
  const seen = new Map<string, Row>();
  for (const row of lists.flat()) {
    seen.set(String(row.id), row);
  }
  return [...seen.values()].sort((a, b) => Number(a.id) - Number(b.id)).map(toView);
};

/** Filters of DELETE /v1/decisions (§3.10): exact matches, `scopes` not split nor normalised. */
export interface DecisionDeleteFilter {
  readonly ip?: IpRange;
  readonly range?: IpRange;
  readonly contains: boolean;
  readonly value?: string;
  readonly type?: string;
  readonly scenario?: string;
  readonly origin?: string;
  readonly scope?: string;
  readonly uuids?: readonly string[];
}

/** Ids of the still-active decisions a DELETE /v1/decisions selects (an empty filter selects all). */
export async function findActiveDecisionIds(db: Kysely<DB>, f: DecisionDeleteFilter, now: Date): Promise<number[]> {
  let q = db.selectFrom('decisions').select('id').where('until', '>', now);
  for (const target of [f.ip, f.range]) {
    if (target) {
      q = q.where(containment(target, f.contains));
    }
  }
  for (const [column, value] of [
    ['value', f.value],
    ['type', f.type],
    ['scenario', f.scenario],
    ['origin', f.origin],
    ['scope', f.scope],
  ] as const) {
    if (value !== undefined) {
      q = q.where(`decisions.${column}`, '=', value);
    }
  }
  if (f.uuids) {
    q = f.uuids.length ? q.where('uuid', 'in', [...f.uuids]) : q.where(sql<boolean>`false`);
  }
  const rows = await q.orderBy('id').execute();
  return rows.map((r) => Number(r.id));
}

export async function decisionExists(db: Kysely<DB>, id: number): Promise<boolean> {
  const row = await db
    .selectFrom('decisions')
    .select('id')
    .where('id', '=', String(id))
    .where('removed', '=', false)
    // A decision that had ended when its alert was deleted keeps removed = false (nothing to announce): its alert
    // row is gone all the same.
    .where((eb) =>
      eb.exists(eb.selectFrom('alerts').select('alerts.id').whereRef('alerts.id', '=', 'decisions.alert_id')),
    )
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Counts the profile helpers ask for (pkg/exprhelpers): decisions whose range contains the value when it is an IP,
 * decisions with that exact value otherwise.
 */
export async function countDecisions(
  db: Kysely<DB>,
  value: IpRange | string,
  options: { activeAt?: Date; createdSince?: Date } = {},
): Promise<{ count: number; longestUntil: Date | null }> {
  let q = db
    .selectFrom('decisions')
    .select((eb) => [eb.fn.countAll<string>().as('count'), eb.fn.max('until').as('longest')]);
  q = typeof value === 'string' ? q.where('value', '=', value) : q.where(containment(value, true));
  if (options.activeAt) {
    q = q.where('until', '>', options.activeAt).where('removed', '=', false);
  }
  if (options.createdSince) {
    q = q.where('created_at', '>=', options.createdSince);
  }
  const row = await q.executeTakeFirstOrThrow();
  return { count: Number(row.count), longestUntil: row.longest ? new Date(row.longest) : null };
}
