import { sql, type Kysely } from 'kysely';

// The autodelete of machines keeps those that still own alerts (the reference's `Not(HasAlerts())`): an index lets
// that check stay a lookup with a million alerts.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index alerts_machine_idx on alerts (machine_id)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index alerts_machine_idx`.execute(db);
}
