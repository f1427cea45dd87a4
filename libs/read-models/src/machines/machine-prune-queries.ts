import type { MachinePruneFacts } from '@lapi/domain';
import type { DB } from '@lapi/event-store';
import { sql, type Kysely } from 'kysely';

/** Machines last seen (domain machineLastSeen: heartbeat or update, the later) at or before `cutoff`, by name. */
export async function machinesNotSeenSince(
  db: Kysely<DB>,
  cutoff: Date,
): Promise<(MachinePruneFacts & { machineId: string })[]> {
  const rows = await db
    .selectFrom('machines')
    .select(['machine_id', 'ip_address', 'is_validated', 'last_heartbeat', 'updated_at'])
    // greatest() skips a NULL heartbeat.
    .where(sql<boolean>`greatest(last_heartbeat, updated_at) <= ${cutoff}`)
    .orderBy('machine_id')
    .execute();
  return rows.map((r) => ({
    machineId: r.machine_id,
    ipAddress: r.ip_address,
    validated: r.is_validated,
    lastHeartbeat: r.last_heartbeat === null ? null : new Date(r.last_heartbeat),
    updatedAt: new Date(r.updated_at),
  }));
}
