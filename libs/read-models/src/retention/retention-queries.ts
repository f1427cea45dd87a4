import type { AlertRetentionFacts, BouncerRetentionFacts, MachineRetentionFacts } from '@lapi/domain';
import { positionKeys, type Bouncer } from '@lapi/domain/bouncers/bouncer';
import type { DB } from '@lapi/event-store';
import { sql, type Kysely } from 'kysely';

// Read side of the retention jobs. Alerts are read in keyset pages along an index, so a run over a million alerts
// costs one index range scan in total, and alerts kept for their active decisions are passed once per run.

/** Whether the alert still has a decision that acts at `now` (domain isActiveDecision), as a column. */
const ownsActiveDecision = (now: Date) =>
  sql<boolean>`exists (
    select 1 from decisions
    where decisions.alert_id = alerts.id and decisions.until > ${now} and decisions.removed = false
  )`.as('owns_active');

const toFacts = (r: { id: string; created_at: Date | string; owns_active: boolean }): AlertRetentionFacts => ({
  id: Number(r.id),
  createdAt: new Date(r.created_at),
  ownsActiveDecision: r.owns_active,
});

/** Alerts created at or before `cutoff`, oldest first (index alerts_created_idx), after the previous page's last. */
export async function alertsCreatedBefore(
  db: Kysely<DB>,
  cutoff: Date,
  now: Date,
  after: AlertRetentionFacts | null,
  limit: number,
): Promise<AlertRetentionFacts[]> {
  let q = db
    .selectFrom('alerts')
    .select(['alerts.id', 'alerts.created_at', ownsActiveDecision(now)])
    .where('alerts.created_at', '<=', cutoff);
  if (after) {
    q = q.where(sql<boolean>`(alerts.created_at, alerts.id) > (${after.createdAt}::timestamptz, ${after.id}::bigint)`);
  }
  const rows = await q.orderBy('alerts.created_at').orderBy('alerts.id').limit(limit).execute();
  return rows.map(toFacts);
}

/** Alerts with an id below `belowId`, lowest first (primary key), after `afterId`. */
export async function alertsBelowId(
  db: Kysely<DB>,
  belowId: number,
  now: Date,
  afterId: number,
  limit: number,
): Promise<AlertRetentionFacts[]> {
  const rows = await db
    .selectFrom('alerts')
    .select(['alerts.id', 'alerts.created_at', ownsActiveDecision(now)])
    .where(sql<boolean>`alerts.id < ${belowId}::bigint and alerts.id > ${afterId}::bigint`)
    .orderBy('alerts.id')
    .limit(limit)
    .execute();
  return rows.map(toFacts);
}

/** The id of the n-th newest alert (n ≥ 1), or undefined when there are fewer: a walk of n primary-key entries. */
export async function nthNewestAlertId(db: Kysely<DB>, n: number): Promise<number | undefined> {
  const row = await db
    .selectFrom('alerts')
    .select('id')
    .orderBy('id', 'desc')
    .offset(n - 1)
    .limit(1)
    .executeTakeFirst();
  return row ? Number(row.id) : undefined;
}

/** Machines whose last heartbeat is at or before `cutoff`, with whether they still own alerts (alerts_machine_idx). */
export async function machinesSilentSince(db: Kysely<DB>, cutoff: Date): Promise<MachineRetentionFacts[]> {
  const rows = await db
    .selectFrom('machines')
    // Whether it owns alerts: the first owner at or after it in alerts_machine_idx is itself. Asked as `exists (...
    // where machine_id = ...)`, Postgres scans every alert for a machine it wrongly expects to own many (a few
    // agents owning a million alerts, many silent pods owning none); an ordered range with a limit uses the index.
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('alerts')
          .select('alerts.machine_id as owner')
          .whereRef('alerts.machine_id', '>=', 'machines.machine_id')
          .orderBy('alerts.machine_id')
          .limit(1)
          .as('probe'),
      (join) => join.onTrue(),
    )
    .select([
      'machines.machine_id',
      'machines.auth_type',
      'machines.ip_address',
      'machines.last_heartbeat',
      sql<boolean>`coalesce(probe.owner = machines.machine_id, false)`.as('has_alerts'),
    ])
    .where('machines.last_heartbeat', '<=', cutoff)
    .orderBy('machines.machine_id')
    .execute();
  return rows.map((r) => ({
    machineId: r.machine_id,
    authType: r.auth_type === 'tls' ? 'tls' : 'password',
    ipAddress: r.ip_address,
    lastHeartbeat: r.last_heartbeat === null ? null : new Date(r.last_heartbeat),
    hasAlerts: r.has_alerts,
  }));
}

/**
 * Bouncers whose last pull recorded by events is at or before `cutoff`, or none: those that may be silent since,
 * with their stream position keys (their processes' positions and lookups tell their later pulls).
 */
export async function bouncersSilentSince(
  db: Kysely<DB>,
  cutoff: Date,
): Promise<(BouncerRetentionFacts & { positionKeys: string[] })[]> {
  const rows = await db
    .selectFrom('bouncers')
    .select(['name', 'auth_type', 'last_pull', 'instances'])
    .where((eb) => eb.or([eb('last_pull', '<=', cutoff), eb('last_pull', 'is', null)]))
    .orderBy('name')
    .execute();
  return rows.map((r) => {
    const instances = (typeof r.instances === 'string' ? JSON.parse(r.instances) : r.instances) as Bouncer['instances'];
    return {
      name: r.name,
      authType: r.auth_type === 'tls' ? 'tls' : 'api-key',
      lastPull: r.last_pull === null ? null : new Date(r.last_pull),
      positionKeys: positionKeys({ name: r.name, instances }),
    };
  });
}
