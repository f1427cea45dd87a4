import { sql, type Kysely } from 'kysely';

// Read models of alerts and decisions, kept by inline projections, and the bouncers' stream cursors.
export async function up(db: Kysely<any>): Promise<void> {
  // Ids are numbers on the wire (cscli alerts inspect 5, decisions delete --id 12); allocated before the append.
  await sql`create sequence alert_id_seq`.execute(db);
  await sql`create sequence decision_id_seq`.execute(db);
  await sql`
    create table alerts (
      id bigint primary key,
      uuid text not null,
      machine_id text not null,
      created_at timestamptz not null,
      scenario text not null,
      scenario_hash text not null,
      scenario_version text not null,
      message text not null,
      events_count integer not null,
      start_at timestamptz not null,
      stop_at timestamptz not null,
      capacity integer not null,
      leakspeed text not null,
      simulated boolean not null,
      remediation boolean not null,
      source_scope text not null,
      source_value text not null,
      source_ip text,
      source_range text,
      source_as_number text,
      source_as_name text,
      source_cn text,
      source_latitude double precision,
      source_longitude double precision,
      kind text,
      events jsonb not null,
      meta jsonb not null
    )`.execute(db);
  await sql`create index alerts_created_idx on alerts (created_at, id)`.execute(db);
  await sql`create index alerts_source_idx on alerts (source_scope, source_value)`.execute(db);
  await sql`
    create table decisions (
      id bigint primary key,
      uuid text not null,
      alert_id bigint not null,
      origin text not null,
      type text not null,
      scope text not null,
      value text not null,
      scenario text not null,
      simulated boolean not null,
      until timestamptz not null,
      created_at timestamptz not null,
      -- IP scopes only: family 4 or 6 and the inclusive range of addresses as numbers.
      ip_family smallint,
      ip_start numeric(39, 0),
      ip_end numeric(39, 0),
      -- Transaction ids of the insert and of the last change: bouncer stream cursors compare against them.
      created_xid xid8 not null default pg_current_xact_id(),
      changed_xid xid8,
      -- The alert was deleted: the decision is gone for every reader but still reported in stream "deleted".
      removed boolean not null default false
    )`.execute(db);
  await sql`create index decisions_alert_idx on decisions (alert_id)`.execute(db);
  await sql`create index decisions_until_idx on decisions (until)`.execute(db);
  await sql`create index decisions_key_idx on decisions (value, type, scope, until)`.execute(db);
  await sql`create index decisions_ip_idx on decisions (ip_family, ip_start, ip_end)`.execute(db);
  await sql`create index decisions_created_xid_idx on decisions (created_xid)`.execute(db);
  await sql`create index decisions_changed_xid_idx on decisions (changed_xid)`.execute(db);
  // Where each bouncer's stream stands: the snapshot its last pull read (what it has seen) and when (expiries).
  await sql`
    create table bouncer_cursors (
      bouncer text primary key,
      snapshot text not null,
      pulled_at timestamptz not null
    )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('bouncer_cursors').execute();
  await db.schema.dropTable('decisions').execute();
  await db.schema.dropTable('alerts').execute();
  await sql`drop sequence decision_id_seq`.execute(db);
  await sql`drop sequence alert_id_seq`.execute(db);
}
