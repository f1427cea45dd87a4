import { sql, type Kysely } from 'kysely';

// Profile notifications without Redis (embedded and PostgreSQL-only mode): the same pipeline as the cluster's
// (libs/read-models/src/notifications/redis-notification-queue.ts), kept in the database so that it survives a
// restart. The log feeds `notification_queue` (one row per alert and plugin) from the checkpoint in
// `notification_pipeline`; due groups become `notification_deliveries`, claimed by pushing `due_at` past the claim.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table notification_pipeline (
    name text primary key,
    checkpoint text not null,
    owner text,
    owner_at timestamptz
  )`.execute(db);
  await sql`create table notification_queue (
    seq bigserial primary key,
    id text not null unique,
    plugin text not null,
    profile text not null,
    alert jsonb not null,
    enqueued_at timestamptz not null
  )`.execute(db);
  await sql`create index notification_queue_plugin on notification_queue (plugin, seq)`.execute(db);
  await sql`create table notification_deliveries (
    id text primary key,
    plugin text not null,
    data jsonb not null,
    attempts_made integer not null default 0,
    created_at timestamptz not null,
    due_at timestamptz not null,
    claimed_by text
  )`.execute(db);
  await sql`create index notification_deliveries_due on notification_deliveries (due_at)`.execute(db);
  await sql`create table notification_plugins (
    plugin text primary key,
    enqueued bigint not null default 0,
    delivered bigint not null default 0,
    failed_attempts bigint not null default 0,
    dead_lettered bigint not null default 0,
    last_flush_at timestamptz,
    last_delivered_at timestamptz,
    last_status text,
    last_error text,
    last_error_at timestamptz
  )`.execute(db);
  await sql`create table notification_dead_letters (
    seq bigserial primary key,
    plugin text not null,
    job text not null,
    alerts integer not null,
    attempts integer not null,
    reason text not null,
    at timestamptz not null
  )`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'notification_dead_letters',
    'notification_plugins',
    'notification_deliveries',
    'notification_queue',
    'notification_pipeline',
  ]) {
    await sql`drop table ${sql.table(table)}`.execute(db);
  }
}
