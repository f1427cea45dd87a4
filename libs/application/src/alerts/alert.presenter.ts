import { goTimeString, rfc3339Seconds } from '@lapi/domain/shared/go-time';
import type { AlertResponse } from '@lapi/lapi-contract';
import type { AlertView } from '@lapi/read-models/alerts/alert-queries';
import { listOrNull, presentAlertDecision } from '../decisions/decision.presenter';

/** Event timestamps come back in Go's Time.String() form in every reference version; unparsable ones as sent. */
const eventTime = (timestamp: string): string => {
  const ms = Date.parse(timestamp);
  return Number.isNaN(ms) ? timestamp : goTimeString(new Date(ms));
};

/** The reference's output form of an alert (§4.2): omitted empty optionals, null lists, `simulated` on decisions. */
export function presentAlert(a: AlertView, now: Date): AlertResponse {
  const s = a.source;
  return {
    id: a.id,
    uuid: a.uuid,
    machine_id: a.machineId || 'N/A',
    created_at: rfc3339Seconds(a.createdAt),
    scenario: a.scenario,
    scenario_hash: a.scenarioHash,
    scenario_version: a.scenarioVersion,
    message: a.message,
    events_count: a.eventsCount,
    // 1.4.6 prints Time.String(); cscli only displays these.
    start_at: goTimeString(a.startAt),
    stop_at: goTimeString(a.stopAt),
    capacity: a.capacity,
    leakspeed: a.leakspeed,
    simulated: a.simulated,
    ...(a.remediation ? { remediation: true } : {}),
    source: {
      scope: s.scope,
      value: s.value,
      ...(s.ip ? { ip: s.ip } : {}),
      ...(s.range ? { range: s.range } : {}),
      ...(s.asNumber ? { as_number: s.asNumber } : {}),
      ...(s.asName ? { as_name: s.asName } : {}),
      ...(s.cn ? { cn: s.cn } : {}),
      // Go's omitempty drops a zero float too.
      ...(s.latitude ? { latitude: s.latitude } : {}),
      ...(s.longitude ? { longitude: s.longitude } : {}),
    },
    events: listOrNull(
      a.events.map((e) => ({ timestamp: eventTime(e.timestamp), meta: e.meta.length ? [...e.meta] : null })),
    ),
    decisions: listOrNull(a.decisions.map((d) => presentAlertDecision(d, now))),
    ...(a.meta.length ? { meta: a.meta } : {}),
    labels: null,
    ...(a.kind ? { kind: a.kind } : {}),
  };
}
