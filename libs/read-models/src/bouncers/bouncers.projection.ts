import { evolveBouncer, type Bouncer, type BouncerInstance, type BouncerState } from '@lapi/domain/bouncers/bouncer';
import { BOUNCER_EVENT_TYPES, type BouncerEvent } from '@lapi/domain/bouncers/bouncer.events';
import type { DB, InlineProjection, RecordedEvent } from '@lapi/event-store';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { iso } from '../machines/machines.projection';
import { deletePositions } from './bouncer-positions';

type BouncerRow = Selectable<DB['bouncers']>;

/** Keeps the `bouncers` table equal to evolveBouncer folded over each bouncer's stream. */
export const bouncersProjection: InlineProjection = {
  name: 'bouncers',
  eventTypes: BOUNCER_EVENT_TYPES,
  async apply(trx: Transaction<DB>, events: readonly RecordedEvent[]): Promise<void> {
    if (events.length >= BATCH_FROM) {
      return applyBatched(trx, events as readonly RecordedEvent<BouncerEvent>[]);
    }
    for (const event of events as readonly RecordedEvent<BouncerEvent>[]) {
      const name = event.data.name;
      const after = evolveBouncer(await loadBouncer(trx, name), event);
      await saveBouncer(trx, name, after);
    }
  },
};

// A bulk admin command's events: one read and two writes per chunk, rather than a read and a write per event.
const BATCH_FROM = 16;
// 10 parameters a row stays far below PostgreSQL's 65,535.
const CHUNK = 1_000;

async function applyBatched(trx: Transaction<DB>, events: readonly RecordedEvent<BouncerEvent>[]): Promise<void> {
  const names = [...new Set(events.map((e) => e.data.name))];
  const states = new Map<string, BouncerState>(names.map((name) => [name, null]));
  for (let from = 0; from < names.length; from += CHUNK) {
    const rows = await trx
      .selectFrom('bouncers')
      .selectAll()
      .where('name', 'in', names.slice(from, from + CHUNK))
      .execute();
    rows.forEach((row) => states.set(row.name, toBouncer(row)));
  }
  for (const event of events) {
    states.set(event.data.name, evolveBouncer(states.get(event.data.name)!, event));
  }
  const gone = names.filter((name) => states.get(name) === null);
  const kept = names.flatMap((name) => {
    const state = states.get(name);
    return state ? [toRow(state)] : [];
  });
  for (let from = 0; from < gone.length; from += CHUNK) {
    await trx
      .deleteFrom('bouncers')
      .where('name', 'in', gone.slice(from, from + CHUNK))
      .execute();
    await deletePositions(trx, gone.slice(from, from + CHUNK));
  }
  for (let from = 0; from < kept.length; from += CHUNK) {
    await trx
      .insertInto('bouncers')
      .values(kept.slice(from, from + CHUNK))
      .onConflict((oc) =>
        oc.column('name').doUpdateSet((eb) => ({
          api_key_hash: eb.ref('excluded.api_key_hash'),
          auth_type: eb.ref('excluded.auth_type'),
          ip_address: eb.ref('excluded.ip_address'),
          type: eb.ref('excluded.type'),
          version: eb.ref('excluded.version'),
          created_at: eb.ref('excluded.created_at'),
          updated_at: eb.ref('excluded.updated_at'),
          last_pull: eb.ref('excluded.last_pull'),
          instances: eb.ref('excluded.instances'),
        })),
      )
      .execute();
  }
}

export async function loadBouncer(db: Kysely<DB>, name: string): Promise<BouncerState> {
  const row = await db.selectFrom('bouncers').selectAll().where('name', '=', name).executeTakeFirst();
  return row ? toBouncer(row) : null;
}

async function saveBouncer(trx: Transaction<DB>, name: string, state: BouncerState): Promise<void> {
  if (!state) {
    await trx.deleteFrom('bouncers').where('name', '=', name).execute();
    // Its processes' positions and lookup times go with it (in a cluster, positions in Redis: ClusterMode).
    await deletePositions(trx, [name]);
    return;
  }
  const row = toRow(state);
  await trx
    .insertInto('bouncers')
    .values(row)
    .onConflict((oc) => oc.column('name').doUpdateSet(row))
    .execute();
}

const toRow = (state: NonNullable<BouncerState>) => ({
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
});

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
