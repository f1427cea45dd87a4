import { evolveBouncer, type Bouncer, type BouncerInstance, type BouncerState } from '@lapi/domain/bouncers/bouncer';
import { BOUNCER_EVENT_TYPES, type BouncerEvent } from '@lapi/domain/bouncers/bouncer.events';
import type { DB, InlineProjection, RecordedEvent } from '@lapi/event-store';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { iso } from './machines.projection';

type BouncerRow = Selectable<DB['bouncers']>;

/** Keeps the `bouncers` table equal to evolveBouncer folded over each bouncer's stream. */
export const bouncersProjection: InlineProjection = {
  name: 'bouncers',
  eventTypes: BOUNCER_EVENT_TYPES,
  async apply(trx: Transaction<DB>, events: readonly RecordedEvent[]): Promise<void> {
    for (const event of events as readonly RecordedEvent<BouncerEvent>[]) {
      const name = event.data.name;
      const after = evolveBouncer(await loadBouncer(trx, name), event);
      await saveBouncer(trx, name, after);
    }
  },
};

export async function loadBouncer(db: Kysely<DB>, name: string): Promise<BouncerState> {
  const row = await db.selectFrom('bouncers').selectAll().where('name', '=', name).executeTakeFirst();
  return row ? toBouncer(row) : null;
}

async function saveBouncer(trx: Transaction<DB>, name: string, state: BouncerState): Promise<void> {
  if (!state) {
    await trx.deleteFrom('bouncers').where('name', '=', name).execute();
    return;
  }
  const row = {
    name: state.name,
    api_key_hash: state.apiKeyHash,
    auth_type: state.authType,
    ip_address: state.ipAddress,
    type: state.type,
    version: state.version,
    created_at: state.createdAt,
    updated_at: state.updatedAt,
    last_pull: state.lastPull,
    // Sent as text and cast: postgres.js would JSON-encode a string given for a jsonb parameter once more.
    instances: sql<string>`cast(${JSON.stringify(state.instances)} as text)::jsonb`,
  };
  await trx
    .insertInto('bouncers')
    .values(row)
    .onConflict((oc) => oc.column('name').doUpdateSet(row))
    .execute();
}

export const toBouncer = (row: BouncerRow): Bouncer => ({
  name: row.name,
  apiKeyHash: row.api_key_hash,
  authType: row.auth_type === 'tls' ? 'tls' : 'api-key',
  ipAddress: row.ip_address,
  type: row.type,
  version: row.version,
  createdAt: iso(row.created_at),
  updatedAt: iso(row.updated_at),
  lastPull: row.last_pull && iso(row.last_pull),
  // postgres.js and PGlite hand jsonb back parsed; be lenient anyway.
  instances: (typeof row.instances === 'string' ? JSON.parse(row.instances) : row.instances) as BouncerInstance[],
});
