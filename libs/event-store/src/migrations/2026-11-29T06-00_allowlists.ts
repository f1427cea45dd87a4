import { sql, type Kysely } from 'kysely';

// Allowlists (reference ≥1.6.6 `allowlists`, `allowlist_items`), projected inline from the allowlist streams. Items
// keep their range as numbers, as decisions do, so that a check is one indexed containment query.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table allowlists (
      name text primary key,
      description text not null,
      created_at timestamptz not null,
      updated_at timestamptz not null
    )`.execute(db);
  await sql`
    create table allowlist_items (
      allowlist text not null references allowlists (name) on delete cascade,
      value text not null,
      description text not null,
      created_at timestamptz not null,
      expires_at timestamptz,
      ip_family smallint not null,
      ip_start numeric(39, 0) not null,
      ip_end numeric(39, 0) not null,
      primary key (allowlist, value)
    )`.execute(db);
  await sql`create index allowlist_items_ip_idx on allowlist_items (ip_family, ip_start, ip_end)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('allowlist_items').execute();
  await db.schema.dropTable('allowlists').execute();
}
