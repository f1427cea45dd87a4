import { sql, type Kysely } from 'kysely';

// Read models of the machine and bouncer streams, kept by inline projections.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table machines (
      machine_id text primary key,
      password_hash text not null,
      ip_address text not null,
      auth_type text not null,
      is_validated boolean not null,
      version text,
      scenarios text,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      last_push timestamptz,
      last_heartbeat timestamptz
    )`.execute(db);
  await sql`
    create table bouncers (
      name text primary key,
      api_key_hash text not null,
      ip_address text not null,
      type text not null,
      version text not null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      last_pull timestamptz
    )`.execute(db);
  await sql`create index bouncers_api_key_hash_idx on bouncers (api_key_hash)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('bouncers').execute();
  await db.schema.dropTable('machines').execute();
}
