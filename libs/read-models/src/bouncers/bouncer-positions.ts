import { positionOwner } from '@lapi/domain/bouncers/bouncer';
import type { DB } from '@lapi/event-store';
import { sql, type Kysely } from 'kysely';
import type { LookupTimesWriter } from '../decisions/lookup-times';

/**
 * The last pull of each of these stream position keys (embedded mode and PostgreSQL alone): the later of its stream
 * position's time (bouncer_cursors) and its last lookup's (bouncer_lookups), as ISO times; none for a key with neither.
 */
export async function positionTimes(db: Kysely<DB>, keys: readonly string[]): Promise<Map<string, string>> {
  if (keys.length === 0) {
    return new Map();
  }
  const rows = await db
    .selectFrom(
      db
        .selectFrom('bouncer_cursors')
        .select(['bouncer', 'pulled_at as at'])
        .where('bouncer', 'in', keys)
        .unionAll(
          db.selectFrom('bouncer_lookups').select(['bouncer', 'looked_up_at as at']).where('bouncer', 'in', keys),
        )
        .as('t'),
    )
    .select(['t.bouncer', (eb) => eb.fn.max('t.at').as('at')])
    .groupBy('t.bouncer')
    .execute();
  return new Map(rows.map((r) => [r.bouncer, new Date(r.at).toISOString()]));
}

/** Writes lookup times to bouncer_lookups in one statement, skipping bouncers deleted meanwhile. */
export const sqlLookupTimesWriter =
  (db: Kysely<DB>): LookupTimesWriter =>
  async (times) => {
    const keys = [...times.keys()];
    await sql`
      insert into bouncer_lookups (bouncer, looked_up_at)
      select t.bouncer, t.at
      from unnest(
        ${keys}::text[],
        ${keys.map(positionOwner)}::text[],
        ${[...times.values()].map((ms) => new Date(ms).toISOString())}::timestamptz[]
      ) as t(bouncer, owner, at)
      where exists (select 1 from bouncers where bouncers.name = t.owner)
      on conflict (bouncer) do update set looked_up_at = greatest(bouncer_lookups.looked_up_at, excluded.looked_up_at)
    `.execute(db);
  };

/** Deletes the stream positions and lookup times of these bouncers (deleted), with their instances'. */
export async function deletePositions(db: Kysely<DB>, names: readonly string[]): Promise<void> {
  if (names.length === 0) {
    return;
  }
  // Keys are `<name>` or `<name>U+001F<instance>` (instanceStreamKey): compare the owner part, no LIKE escaping.
  const owner = sql<string>`split_part(bouncer, chr(31), 1)`;
  await db.deleteFrom('bouncer_cursors').where(owner, 'in', names).execute();
  await db.deleteFrom('bouncer_lookups').where(owner, 'in', names).execute();
}
