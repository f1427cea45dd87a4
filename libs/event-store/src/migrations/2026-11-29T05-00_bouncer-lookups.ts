import { sql, type Kysely } from 'kysely';

// When each bouncer process last looked decisions up (GET /v1/decisions), by stream position key: with the stream
// positions' times, its last pull (the reference moves last_pull on lookups too). Written once a minute, in batches.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table bouncer_lookups (
      bouncer text primary key,
      looked_up_at timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('bouncer_lookups').execute();
}
