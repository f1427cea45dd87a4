import { formatGoDurationMs } from '@lapi/domain/shared/go-duration';
import type { AlertDecisionResponse, DecisionResponse } from '@lapi/lapi-contract';
import type { DecisionView } from '@lapi/read-models/decisions/sql/decision-queries';

/** `until − now` in Go's Duration.String() syntax, negative once expired (bouncers parse it with time.ParseDuration). */
export const remaining = (until: Date, now: Date): string => formatGoDurationMs(until.getTime() - now.getTime());

export const presentDecision = (d: DecisionView, now: Date): DecisionResponse => ({
  duration: remaining(d.until, now),
  id: d.id,
  origin: d.origin,
  scenario: d.scenario,
  scope: d.scope,
  type: d.type,
  value: d.value,
  uuid: d.uuid,
});

export const presentAlertDecision = (d: DecisionView, now: Date): AlertDecisionResponse => ({
  ...presentDecision(d, now),
  simulated: d.simulated,
});

/** Go encodes an empty slice as `null`; bouncers and cscli treat null and [] alike (reference §1.2). */
export const listOrNull = <T>(list: T[]): T[] | null => (list.length === 0 ? null : list);
