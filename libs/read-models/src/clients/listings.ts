import type { Bouncer, Machine } from '@lapi/domain';
import type { DB } from '@lapi/event-store';
import type { Kysely } from 'kysely';
import { toBouncer } from '../bouncers/bouncers.projection';
import { toMachine } from '../machines/machines.projection';

export * from '../retention/retention-queries';

export async function listMachines(db: Kysely<DB>): Promise<Machine[]> {
  const rows = await db.selectFrom('machines').selectAll().orderBy('created_at').orderBy('machine_id').execute();
  return rows.map(toMachine);
}

export async function listBouncers(db: Kysely<DB>): Promise<Bouncer[]> {
  const rows = await db.selectFrom('bouncers').selectAll().orderBy('created_at').orderBy('name').execute();
  return rows.map(toBouncer);
}

export async function findBouncersByKeyHash(db: Kysely<DB>, apiKeyHash: string): Promise<Bouncer[]> {
  const rows = await db.selectFrom('bouncers').selectAll().where('api_key_hash', '=', apiKeyHash).execute();
  return rows.map(toBouncer);
}
