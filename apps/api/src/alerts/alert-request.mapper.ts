import { normalizeScope, type AlertInput, type DecisionInput } from '@lapi/domain';
import type { AlertRequest } from '@lapi/lapi-contract';

type DecisionRequest = NonNullable<AlertRequest['decisions']>[number];

/** A validated decision of an alert body → the domain's input. */
export const toDecisionInput = (d: DecisionRequest): DecisionInput => ({
  duration: d.duration,
  origin: d.origin,
  scenario: d.scenario,
  scope: normalizeScope(d.scope),
  type: d.type,
  value: d.value,
});

/**
 * A validated alert body → the domain's input: scopes normalised, unparsable times replaced by now (reference).
 * `decisions`: its decisions already mapped (toDecisionInput), by a caller that maps a big list in slices.
 */
export function toAlertInput(
  a: AlertRequest,
  now: Date,
  decisions: DecisionInput[] | null = a.decisions?.length ? a.decisions.map(toDecisionInput) : null,
): AlertInput {
  // A year written other than in 4 digits (`+010000-…`) is rewritten so that the domain's range check sees it and
  // PostgreSQL can read it.
  const time = (t: string) => {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? now.toISOString() : /^\d{4}-/.test(t) ? t : new Date(ms).toISOString();
  };
  const s = a.source;
  return {
    scenario: a.scenario,
    scenarioHash: a.scenario_hash,
    scenarioVersion: a.scenario_version,
    message: a.message,
    eventsCount: a.events_count,
    startAt: time(a.start_at),
    stopAt: time(a.stop_at),
    capacity: a.capacity,
    leakspeed: a.leakspeed,
    simulated: a.simulated,
    remediation: a.remediation ?? false,
    events: (a.events ?? []).map((e) => ({ timestamp: e.timestamp, meta: e.meta ?? [] })),
    source: {
      scope: normalizeScope(s.scope),
      value: s.value,
      ...(s.ip ? { ip: s.ip } : {}),
      ...(s.range ? { range: s.range } : {}),
      ...(s.as_number ? { asNumber: s.as_number } : {}),
      ...(s.as_name ? { asName: s.as_name } : {}),
      ...(s.cn ? { cn: s.cn } : {}),
      ...(s.latitude ? { latitude: s.latitude } : {}),
      ...(s.longitude ? { longitude: s.longitude } : {}),
    },
    decisions,
    meta: a.meta ?? [],
    labels: a.labels ?? null,
    ...(a.kind ? { kind: a.kind } : {}),
  };
}
