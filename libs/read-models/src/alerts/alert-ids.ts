import type { DB } from '@lapi/event-store';
import { sql, type Kysely } from 'kysely';

/** Numeric ids for a new alert and its decisions, from sequences: unique across replicas, gaps allowed. */
export async function allocateAlertIds(
  db: Kysely<DB>,
  decisionCount: number,
): Promise<{ alertId: number; decisionIds: number[] }> {
  // One round trip for both: the decision ids come back as one comma-separated text, in the order drawn.
  const { rows } = await sql<{ alert: string; decisions: string }>`
    select nextval('alert_id_seq')::text as alert,
      coalesce((select string_agg(nextval('decision_id_seq')::text, ',' order by n)
                from generate_series(1, ${decisionCount}::int) as n), '') as decisions`.execute(db);
  const decisionIds = rows[0].decisions === '' ? [] : rows[0].decisions.split(',').map(Number);
  return { alertId: Number(rows[0].alert), decisionIds };
}
