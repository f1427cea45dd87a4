import { ALERT_EVENT_TYPES, isIpScope, parseIpRange, type DecisionLogEvent, type StoredDecision } from '@lapi/domain';
import type { DB, InlineProjection, RecordedEvent } from '@lapi/event-store';
import { sql, type Transaction } from 'kysely';

// Postgres takes at most 65,535 bind parameters per statement; a decision row binds 13.
const DECISION_ROWS_PER_INSERT = 4000;

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
    const chunk = data.decisions.slice(i, i + DECISION_ROWS_PER_INSERT);
    await trx
      .insertInto('decisions')
      .values(chunk.map((d) => decisionRow(d, data.alertId, data.createdAt)))
      .execute();
  }
}

const decisionRow = (d: StoredDecision, alertId: number, createdAt: string) => {
  const range = isIpScope(d.scope) ? parseIpRange(d.value) : null;
  return {
    id: String(d.id),
    uuid: d.uuid,
    alert_id: String(alertId),
    origin: d.origin,
    type: d.type,
    scope: d.scope,
    value: d.value,
    scenario: d.scenario,
    simulated: d.simulated,
    until: d.until,
    created_at: createdAt,
    ip_family: range ? range.family : null,
    ip_start: range ? range.start.toString() : null,
    ip_end: range ? range.end.toString() : null,
  };
};
