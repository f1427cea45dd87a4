import { sql, type Kysely } from 'kysely';

// Bouncers authenticated by a client certificate (auth_type 'tls', the reference's column); existing ones use keys.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table bouncers add column auth_type text not null default 'api-key'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table bouncers drop column auth_type`.execute(db);
}
