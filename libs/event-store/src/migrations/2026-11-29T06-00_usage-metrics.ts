import { sql, type Kysely } from 'kysely';

// Usage reports from bouncers and agents (POST /v1/usage-metrics), one row per report, the read model of
// UsageMetricsReceived events: the reference's `metrics` table. A row goes once past expires_at (metrics_max_age).
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create table usage_metrics (
      id bigint generated always as identity primary key,
      kind text not null,
      name text not null,
      received_at timestamptz not null,
      expires_at timestamptz not null,
      report jsonb not null
    )`.execute(db);
  await sql`create index usage_metrics_component on usage_metrics (kind, name, received_at)`.execute(db);
  await sql`create index usage_metrics_expires_at on usage_metrics (expires_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('usage_metrics').execute();
}
