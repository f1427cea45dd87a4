import { sql, type Kysely } from 'kysely';

// Frozen in time: never import application code here.
// Bouncer streams are answered from the in-memory index (no Redis) or Redis (cluster), no longer by SQL on
// created_xid/changed_xid: their two indexes only slowed every insert (a quarter of a 100k-decision import's
// index upkeep). The columns stay, still written.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index if exists decisions_created_xid_idx`.execute(db);
  await sql`drop index if exists decisions_changed_xid_idx`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`create index decisions_created_xid_idx on decisions (created_xid)`.execute(db);
  await sql`create index decisions_changed_xid_idx on decisions (changed_xid)`.execute(db);
}
