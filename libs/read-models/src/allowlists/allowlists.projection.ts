import {
  allowlistReason,
  isActiveItem,
  type Allowlist,
  type AllowlistItem,
  type AllowlistMatchable,
  type AllowlistState,
} from '@lapi/domain/allowlists/allowlist';
import { ALLOWLIST_EVENT_TYPES, type AllowlistEvent } from '@lapi/domain/allowlists/allowlist.events';
import { parseIpRange, type IpRange } from '@lapi/domain/shared/ip-range';
import { storableText } from '@lapi/domain/shared/storable-text';
import type { DB, InlineProjection, RecordedEvent } from '@lapi/event-store';
import { sql, type ExpressionBuilder, type Kysely, type Transaction } from 'kysely';
import { iso } from '../machines/machines.projection';

// Items per insert: 8 parameters a row stays far below PostgreSQL's 65,535.
const CHUNK = 1_000;

/** Keeps `allowlists` and `allowlist_items` equal to evolveAllowlist folded over each allowlist's stream. */
export const allowlistsProjection: InlineProjection = {
  name: 'allowlists',
  eventTypes: ALLOWLIST_EVENT_TYPES,
  async apply(trx: Transaction<DB>, events: readonly RecordedEvent[]): Promise<void> {
    for (const event of events as readonly RecordedEvent<AllowlistEvent>[]) {
      await applyOne(trx, event);
    }
  },
};

async function applyOne(trx: Transaction<DB>, event: AllowlistEvent): Promise<void> {
  const { name, at } = event.data;
  switch (event.type) {
    case 'AllowlistCreated':
      await trx.deleteFrom('allowlists').where('name', '=', name).execute();
      await trx
        .insertInto('allowlists')
        .values({ name, description: event.data.description, created_at: at, updated_at: at })
        .execute();
      return;
    case 'AllowlistItemsAdded': {
      const rows = event.data.items.map((item) => {
        // Values were checked when decided; one that no longer parses would be a bug, not input.
        const range = parseIpRange(item.value)!;
        return {
          allowlist: name,
          value: item.value,
          description: item.description,
          created_at: at,
          expires_at: item.expiresAt,
          ip_family: range.family,
          ip_start: range.start.toString(),
          ip_end: range.end.toString(),
        };
      });
      for (let from = 0; from < rows.length; from += CHUNK) {
        await trx
          .insertInto('allowlist_items')
          .values(rows.slice(from, from + CHUNK))
          .onConflict((oc) =>
            oc.columns(['allowlist', 'value']).doUpdateSet((eb) => ({
              description: eb.ref('excluded.description'),
              created_at: eb.ref('excluded.created_at'),
              expires_at: eb.ref('excluded.expires_at'),
            })),
          )
          .execute();
      }
      await trx.updateTable('allowlists').set({ updated_at: at }).where('name', '=', name).execute();
      return;
    }
    case 'AllowlistItemsRemoved':
      for (let from = 0; from < event.data.values.length; from += CHUNK) {
        await trx
          .deleteFrom('allowlist_items')
          .where('allowlist', '=', name)
          .where('value', 'in', event.data.values.slice(from, from + CHUNK))
          .execute();
      }
      await trx.updateTable('allowlists').set({ updated_at: at }).where('name', '=', name).execute();
      return;
    case 'AllowlistDeleted':
      await trx.deleteFrom('allowlists').where('name', '=', name).execute();
      return;
  }
}

/** Every allowlist by name, with its items (all of them: readers drop the expired ones with activeItems). */
export async function listAllowlists(db: Kysely<DB>, name?: string): Promise<Allowlist[]> {
  let lists = db.selectFrom('allowlists').selectAll().orderBy('name');
  let items = db.selectFrom('allowlist_items').selectAll().orderBy('allowlist').orderBy('created_at').orderBy('value');
  if (name !== undefined) {
    lists = lists.where('name', '=', name);
    items = items.where('allowlist', '=', name);
  }
  const [listRows, itemRows] = await Promise.all([lists.execute(), items.execute()]);
  const byList = new Map<string, AllowlistItem[]>();
  for (const row of itemRows) {
    const list = byList.get(row.allowlist) ?? [];
    list.push({
      value: row.value,
      description: row.description,
      createdAt: iso(row.created_at),
      expiresAt: row.expires_at === null ? null : iso(row.expires_at),
    });
    byList.set(row.allowlist, list);
  }
  return listRows.map((row) => ({
    name: row.name,
    description: row.description,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    items: byList.get(row.name) ?? [],
  }));
}

export async function findAllowlist(db: Kysely<DB>, name: string): Promise<AllowlistState> {
  // No list has a name PostgreSQL cannot hold (a NUL): asking for one is not a database error.
  if (!storableText(name)) {
    return null;
  }
  const [list] = await listAllowlists(db, name);
  return list ?? null;
}

/**
 * Why a value is allowlisted: one reason per active item of the same family that contains it or lies inside it
 * (pkg/database/allowlists.go IsAllowlistedBy), sorted by list name; empty when it is not.
 */
export async function allowlistReasons(db: Kysely<DB>, target: IpRange, now: Date): Promise<string[]> {
  const rows = await db
    .selectFrom('allowlist_items')
    .select(['allowlist', 'value', 'description', 'expires_at'])
    .where('ip_family', '=', target.family)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>=', now)]))
    .where((eb) => {
      const start = sql<string>`${target.start.toString()}::numeric`;
      const end = sql<string>`${target.end.toString()}::numeric`;
      return eb.or([
        eb.and([eb('ip_start', '<=', start), eb('ip_end', '>=', end)]),
        eb.and([eb('ip_start', '>=', start), eb('ip_end', '<=', end)]),
      ]);
    })
    .orderBy('allowlist')
    .orderBy('created_at')
    .execute();
  return rows
    .filter((row) => isActiveItem({ expiresAt: row.expires_at === null ? null : iso(row.expires_at) }, now))
    .map((row) => allowlistReason({ value: row.value, allowlist: row.allowlist, description: row.description }));
}

/** Every active item, for matching many values in memory (allowlistReasonsIn) with one query. */
export async function loadActiveAllowlistItems(db: Kysely<DB>, now: Date): Promise<AllowlistMatchable[]> {
  const rows = await db
    .selectFrom('allowlist_items')
    .select(['allowlist', 'value', 'description', 'ip_family', 'ip_start', 'ip_end'])
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>=', now)]))
    .orderBy('allowlist')
    .orderBy('created_at')
    .execute();
  return rows.map((row) => ({
    range: { family: row.ip_family as 4 | 6, start: BigInt(row.ip_start), end: BigInt(row.ip_end) },
    value: row.value,
    allowlist: row.allowlist,
    description: row.description,
  }));
}

/**
 * Ids of the active decisions the given ranges cover or lie inside (pkg/database/allowlists.go
 * ApplyAllowlistsToExistingDecisions): what adding those items to an allowlist deletes.
 */
export async function findDecisionsAllowlisted(
  db: Kysely<DB>,
  targets: readonly IpRange[],
  now: Date,
): Promise<number[]> {
  if (targets.length === 0) {
    return [];
  }
  const overlapping = (eb: ExpressionBuilder<DB, 'decisions'>, t: IpRange) => {
    const start = sql<string>`${t.start.toString()}::numeric`;
    const end = sql<string>`${t.end.toString()}::numeric`;
    return eb.and([
      eb('decisions.ip_family', '=', t.family),
      eb.or([
        eb.and([eb('decisions.ip_start', '>=', start), eb('decisions.ip_end', '<=', end)]),
        eb.and([eb('decisions.ip_start', '<=', start), eb('decisions.ip_end', '>=', end)]),
      ]),
    ]);
  };
  const ids: number[] = [];
  for (let from = 0; from < targets.length; from += CHUNK) {
    const part = targets.slice(from, from + CHUNK);
    const rows = await db
      .selectFrom('decisions')
      .select('id')
      .where('until', '>', now)
      .where('removed', '=', false)
      .where((eb) => eb.or(part.map((t) => overlapping(eb, t))))
      .orderBy('id')
      .execute();
    ids.push(...rows.map((r) => Number(r.id)));
  }
  return [...new Set(ids)].sort((a, b) => a - b);
}
