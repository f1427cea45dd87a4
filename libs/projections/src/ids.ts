import type { DB } from '@lapi/event-store';
import { sql, type Kysely } from 'kysely';

/** Numeric ids for a new alert and its decisions, from sequences: unique across replicas, gaps allowed. */
export async function allocateAlertIds(
  db: Kysely<DB>,
  decisionCount: number,
): Promise<{ alertId: number; decisionIds: number[] }> {
  const alert = await sql<{ id: string }>`select nextval('alert_id_seq')::text as id`.execute(db);
  const decisions =
    decisionCount === 0
      ? { rows: [] }
      : await sql<{
          id: string;
        }>`select nextval('decision_id_seq')::text as id from generate_series(1, ${decisionCount}::int)`.execute(db);
  return { alertId: Number(alert.rows[0].id), decisionIds: decisions.rows.map((r) => Number(r.id)) };
}
