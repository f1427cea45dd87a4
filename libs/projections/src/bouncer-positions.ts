import type { DB } from '@lapi/event-store';
import type { Kysely } from 'kysely';

/** When each of these stream positions was last saved (embedded mode's bouncer_cursors), by position key. */
export async function positionTimes(db: Kysely<DB>, keys: readonly string[]): Promise<Map<string, string>> {
  if (keys.length === 0) {
    return new Map();
  }
  const rows = await db
    .selectFrom('bouncer_cursors')
    .select(['bouncer', 'pulled_at'])
    .where('bouncer', 'in', keys)
    .execute();
  return new Map(rows.map((r) => [r.bouncer, new Date(r.pulled_at).toISOString()]));
}
