import { sql, type Kysely } from 'kysely';

// The processes sharing a bouncer's key (reference ≥1.6.5 `<name>@<ip>` rows), kept with their bouncer.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table bouncers add column instances jsonb not null default '[]'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table bouncers drop column instances`.execute(db);
}
