import { DomainError } from '../shared/errors';
import { NANOS_PER_MS, parseGoDuration } from '../shared/go-duration';
import { isStorableTime } from '../shared/go-time';
import { parseIpRange } from '../shared/ip-range';
import { isIpScope } from '../shared/scope';
import type { AlertInput, DecisionInput } from './alert';
import type { AlertNotify, AlertReceived, StoredDecision } from './alert.events';

export class InvalidDecisionError extends DomainError {
  readonly code = 'DECISION.INVALID';
}

export class InvalidAlertError extends DomainError {
  readonly code = 'ALERT.INVALID';
}

/** Ids allocated for one alert before it is decided (sequences live outside the domain). */
export interface AlertIds {
  readonly alertId: number;
  readonly alertUuid: string;
  readonly decisionIds: readonly number[];
  readonly decisionUuids: readonly string[];
}

/** Decisions receiveAlertInSteps checks between two steps. */
export const RECEIVE_ALERT_STEP = 1_000;

/**
 * Turns a pushed alert (its decisions given by the client or by the profiles) into the event that records it.
 * `until = stop_at + duration`, as the reference computes it, so an old stop_at gives an already-expired decision.
 */
export function receiveAlert(
  alert: AlertInput,
  decisions: readonly DecisionInput[],
  machineId: string,
  ids: AlertIds,
  now: Date,
  notify?: AlertNotify,
): AlertReceived {
  const steps = receiveAlertInSteps(alert, decisions, machineId, ids, now, notify);
  for (;;) {
    const step = steps.next();
    if (step.done) {
      return step.value;
    }
  }
}

/**
 * receiveAlert, stopping after every RECEIVE_ALERT_STEP decisions: a caller can let other work run between steps
 * (checking 100k decisions takes a while). Same result, same errors.
 */
export function* receiveAlertInSteps(
  alert: AlertInput,
  decisions: readonly DecisionInput[],
  machineId: string,
  ids: AlertIds,
  now: Date,
  notify?: AlertNotify,
): Generator<void, AlertReceived> {
  if (ids.decisionIds.length < decisions.length || ids.decisionUuids.length < decisions.length) {
    throw new Error('not enough decision ids allocated');
  }
  for (const [field, time] of [
    ['start_at', alert.startAt],
    ['stop_at', alert.stopAt],
  ] as const) {
    if (!isStorableTime(Date.parse(time))) {
      throw new InvalidAlertError(`${field} '${time}' is out of range (years 1 to 9999)`);
    }
  }
  const stopAt = Date.parse(alert.stopAt);
  const stored: StoredDecision[] = [];
  // The decisions of a big alert (an import) mostly share one duration: its `until` is worked out once.
  let lastDuration: string | undefined;
  let lastUntil: string | null | undefined;
  for (let i = 0; i < decisions.length; i++) {
    if (i > 0 && i % RECEIVE_ALERT_STEP === 0) {
      yield;
    }
    const d = decisions[i];
    if (d.duration !== lastDuration) {
      lastUntil = untilOf(d.duration, stopAt);
      lastDuration = d.duration;
    }
    if (lastUntil === undefined) {
      throw new InvalidDecisionError(
        `decision duration '${d.duration}' is not a valid duration (e.g. 4h, 30m, 1h30m, 2d)`,
      );
    }
    if (isIpScope(d.scope) && parseIpRange(d.value) === null) {
      throw new InvalidDecisionError(
        `decision value '${d.value}' is not a valid IP address or range for scope '${d.scope}'`,
      );
    }
    const until = lastUntil;
    if (until === null) {
      throw new InvalidDecisionError(`decision duration '${d.duration}' is out of range`);
    }
    stored.push({
      id: ids.decisionIds[i],
      uuid: ids.decisionUuids[i],
      origin: d.origin,
      type: d.type,
      scope: d.scope,
      value: d.value,
      scenario: d.scenario,
      simulated: alert.simulated,
      until,
    });
  }
  const { decisions: _given, ...rest } = alert;
  return {
    type: 'AlertReceived',
    data: {
      alertId: ids.alertId,
      uuid: ids.alertUuid,
      machineId,
      createdAt: now.toISOString(),
      alert: rest,
      decisions: stored,
      ...(notify && notify.profiles.length > 0 && { notify }),
    },
  };
}

/** When a decision of this duration ends, from the alert's stop_at: undefined if not a duration, null out of range. */
function untilOf(durationText: string, stopAt: number): string | null | undefined {
  const duration = parseGoDuration(durationText);
  if (duration === null) {
    return undefined;
  }
  const until = stopAt + Number(duration / NANOS_PER_MS);
  return isStorableTime(until) ? new Date(until).toISOString() : null;
}
