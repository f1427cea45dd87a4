import { ALERT_EVENT_TYPES, type DecisionLogEvent, type StoredDecision } from '@lapi/domain/alerts/alert.events';
import { parseIpRange } from '@lapi/domain/shared/ip-range';
import { isIpScope } from '@lapi/domain/shared/scope';
import type { DB, InlineProjection, RecordedEvent } from '@lapi/event-store';
import { sql, type Transaction } from 'kysely';

// Rows per insert statement: big enough that statements are few, small enough that one stays a short step.
const DECISION_ROWS_PER_INSERT = 10_000;

/** Keeps the `alerts` and `decisions` tables from the alert log, in the transaction that appends it. */
export const alertsProjection: InlineProjection = {
  name: 'alerts',
  eventTypes: ALERT_EVENT_TYPES,
  async apply(trx: Transaction<DB>, events: readonly RecordedEvent[]): Promise<void> {
    for (const event of events as readonly RecordedEvent<DecisionLogEvent>[]) {
      switch (event.type) {
        case 'AlertReceived':
          await insertAlert(trx, event.data);
          break;
        case 'DecisionsDeleted':
          await trx
            .updateTable('decisions')
            .set({ until: sql`least(until, ${event.data.at}::timestamptz)`, changed_xid: sql`pg_current_xact_id()` })
            .where(sql<boolean>`id = any(${event.data.decisionIds.map(String)}::bigint[])`)
            // One that already ended was announced when it did (as in the cluster's APPLY).
            .where('until', '>', sql<Date>`${event.data.at}::timestamptz`)
            .execute();
          break;
        case 'DecisionsExpired':
          // Recorded for history: the row's `until` already says it expired.
          break;
        case 'AlertsDeleted': {
          const ids = event.data.alertIds.map(String);
          await trx
            .deleteFrom('alerts')
            .where(sql<boolean>`id = any(${ids}::bigint[])`)
            .execute();
          await trx
            .updateTable('decisions')
            .set({
              removed: true,
              until: sql`least(until, ${event.data.at}::timestamptz)`,
              changed_xid: sql`pg_current_xact_id()`,
            })
            .where(sql<boolean>`alert_id = any(${ids}::bigint[])`)
            // One that already ended was announced when it did: untouched, it is not sent again in `deleted`.
            .where('until', '>', sql<Date>`${event.data.at}::timestamptz`)
            .where('removed', '=', false)
            .execute();
          break;
        }
      }
    }
  },
};

async function insertAlert(trx: Transaction<DB>, data: Extract<DecisionLogEvent, { type: 'AlertReceived' }>['data']) {
  const a = data.alert;
  await trx
    .insertInto('alerts')
    .values({
      id: String(data.alertId),
      uuid: data.uuid,
      machine_id: data.machineId,
      created_at: data.createdAt,
      scenario: a.scenario,
      scenario_hash: a.scenarioHash,
      scenario_version: a.scenarioVersion,
      message: a.message,
      events_count: a.eventsCount,
      start_at: a.startAt,
      stop_at: a.stopAt,
      capacity: a.capacity,
      leakspeed: a.leakspeed,
      simulated: a.simulated,
      remediation: a.remediation,
      source_scope: a.source.scope,
      source_value: a.source.value,
      source_ip: a.source.ip ?? null,
      source_range: a.source.range ?? null,
      source_as_number: a.source.asNumber ?? null,
      source_as_name: a.source.asName ?? null,
      source_cn: a.source.cn ?? null,
      source_latitude: a.source.latitude ?? null,
      source_longitude: a.source.longitude ?? null,
      kind: a.kind ?? null,
      events: JSON.stringify(a.events),
      meta: JSON.stringify(a.meta),
    })
    .execute();
  for (let i = 0; i < data.decisions.length; i += DECISION_ROWS_PER_INSERT) {
    await insertDecisions(trx, data.decisions.slice(i, i + DECISION_ROWS_PER_INSERT), data.alertId, data.createdAt);
  }
}

/**
 * One statement per slice, with one array parameter per column: one bind parameter per cell (13 a row) cost the
 * driver and PGlite far more to encode and plan than the insert itself (a 100k-decision alert spent most of its
 * transaction there), and held the single embedded connection that long. Each array goes as the text of an array
 * literal, cast in SQL: the drivers' own array encoding (postgres.js quotes element by element) cost more than the
 * rest of building the rows.
 */
async function insertDecisions(
  trx: Transaction<DB>,
  decisions: readonly StoredDecision[],
  alertId: number,
  createdAt: string,
) {
  const c = {
    id: [] as string[],
    uuid: [] as string[],
    origin: [] as string[],
    type: [] as string[],
    scope: [] as string[],
    value: [] as string[],
    scenario: [] as string[],
    simulated: [] as string[],
    until: [] as string[],
    family: [] as (string | null)[],
    start: [] as (string | null)[],
    end: [] as (string | null)[],
  };
  for (const d of decisions) {
    const range = isIpScope(d.scope) ? parseIpRange(d.value) : null;
    c.id.push(String(d.id));
    c.uuid.push(d.uuid);
    c.origin.push(d.origin);
    c.type.push(d.type);
    c.scope.push(d.scope);
    c.value.push(d.value);
    c.scenario.push(d.scenario);
    c.simulated.push(String(d.simulated));
    c.until.push(d.until);
    c.family.push(range ? String(range.family) : null);
    c.start.push(range ? range.start.toString() : null);
    c.end.push(range ? range.end.toString() : null);
  }
  await sql`
    insert into decisions
      (id, uuid, alert_id, origin, type, scope, value, scenario, simulated, until, created_at, ip_family, ip_start, ip_end)
    select id, uuid, ${String(alertId)}::bigint, origin, type, scope, value, scenario, simulated::boolean, until,
      ${createdAt}::timestamptz, ip_family, ip_start, ip_end
    from unnest(
      ${array(c.id)}::bigint[], ${array(c.uuid)}::text[], ${array(c.origin)}::text[], ${array(c.type)}::text[],
      ${array(c.scope)}::text[], ${array(c.value)}::text[], ${array(c.scenario)}::text[],
      ${array(c.simulated)}::text[], ${array(c.until)}::timestamptz[], ${array(c.family)}::smallint[],
      ${array(c.start)}::numeric[], ${array(c.end)}::numeric[]
    ) as d(id, uuid, origin, type, scope, value, scenario, simulated, until, ip_family, ip_start, ip_end)
  `.execute(trx);
}

/** A PostgreSQL array literal of text elements ({"a","b",NULL}), sent as one text parameter and cast in SQL. */
function array(values: readonly (string | null)[]) {
  let text = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) {
      text += ',';
    }
    text += v === null ? 'NULL' : `"${/["\\]/.test(v) ? v.replace(/["\\]/g, '\\$&') : v}"`;
  }
  return sql`cast(${text + '}'} as text)`;
}
