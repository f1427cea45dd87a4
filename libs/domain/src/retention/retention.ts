// Retention as the reference's db_config.flush (pkg/database/flush.go): alerts over a count or past an age are
// flushed, machines and bouncers not seen for a while are deleted. Pure rules; the caller reads the facts.

/** `max_items` / `max_age`; an absent limit does not apply. */
export interface FlushPolicy {
  readonly maxItems?: number;
  readonly maxAgeMs?: number;
}

/**
 * `agents_autodelete` / `bouncers_autodelete`, per way of authenticating; absent: never deleted. `notSeen` prunes
 * machines not seen for that long whatever their heartbeat (LAPI_MACHINES_PRUNE_NOT_SEEN).
 */
export interface AutodeletePolicy {
  readonly machines: { readonly password?: number; readonly tls?: number; readonly notSeen?: number };
  readonly bouncers: { readonly apiKey?: number; readonly tls?: number };
}

/** What the flush needs to know about one alert. */
export interface AlertRetentionFacts {
  readonly id: number;
  readonly createdAt: Date;
  /** One of its decisions still acts (see isActiveDecision): the alert is kept whatever its age or rank. */
  readonly ownsActiveDecision: boolean;
}

export interface FlushContext {
  readonly now: Date;
  /**
   * Id of the oldest alert the count limit keeps: the maxItems-th newest by id, as the reference ranks them (it
   * takes `max(id) - max_items`, which keeps fewer when ids have gaps). Alerts with a lower id are over the limit.
   * Undefined when there are fewer than maxItems alerts.
   */
  readonly countLimitId?: number;
}

/** A decision acts until its `until`, unless its alert was deleted. */
export const isActiveDecision = (d: { readonly until: Date; readonly removed: boolean }, now: Date): boolean =>
  !d.removed && d.until.getTime() > now.getTime();

/** Alerts created at or before this time are past max_age (the reference's `created_at <= now - max_age`). */
export const flushAgeCutoff = (policy: FlushPolicy, now: Date): Date | undefined =>
  policy.maxAgeMs === undefined ? undefined : new Date(now.getTime() - policy.maxAgeMs);

export type FlushReason = 'age' | 'count';

/**
 * Why this alert is flushed, or null when it is kept. An alert that still owns an active decision is always kept:
 * deleting it would end a live ban early (the newest reference keeps them too, flush.go alertWithoutActiveDecision;
 * 1.4.6 deleted them with their decisions).
 */
export function flushReason(
  alert: AlertRetentionFacts,
  policy: FlushPolicy,
  context: FlushContext,
): FlushReason | null {
  if (alert.ownsActiveDecision) {
    return null;
  }
  const cutoff = flushAgeCutoff(policy, context.now);
  if (cutoff !== undefined && alert.createdAt.getTime() <= cutoff.getTime()) {
    return 'age';
  }
  if (policy.maxItems !== undefined && context.countLimitId !== undefined && alert.id < context.countLimitId) {
    return 'count';
  }
  return null;
}

/** The ids of the alerts to flush, in the order given. */
export const alertsToFlush = (
  alerts: readonly AlertRetentionFacts[],
  policy: FlushPolicy,
  context: FlushContext,
): number[] => alerts.filter((a) => flushReason(a, policy, context) !== null).map((a) => a.id);

export interface MachineRetentionFacts {
  readonly machineId: string;
  readonly authType: 'password' | 'tls';
  readonly ipAddress: string;
  readonly lastHeartbeat: Date | null;
  /** It still owns alerts: the reference keeps such machines (their alerts name them). */
  readonly hasAlerts: boolean;
}

// The newest reference never auto-deletes a machine last seen from loopback: the LAPI host's own agent.
const LOOPBACK = new Set(['127.0.0.1', '::1']);

/**
 * A machine is stale when its last heartbeat is at least the duration for its auth type old, it owns no alert and
 * it is not the local agent. A machine that never sent a heartbeat is never deleted, as in the reference (its
 * `last_heartbeat <= cutoff` is false for NULL).
 */
export function isStaleMachine(m: MachineRetentionFacts, policy: AutodeletePolicy, now: Date): boolean {
  const duration = m.authType === 'tls' ? policy.machines.tls : policy.machines.password;
  return (
    duration !== undefined &&
    m.lastHeartbeat !== null &&
    m.lastHeartbeat.getTime() <= now.getTime() - duration &&
    !m.hasAlerts &&
    !LOOPBACK.has(m.ipAddress)
  );
}

export interface BouncerRetentionFacts {
  readonly name: string;
  readonly authType: 'api-key' | 'tls';
  readonly lastPull: Date | null;
}

/**
 * A bouncer is stale when its last pull is at least the duration for its auth type old. One that never pulled is
 * kept, as in reference 1.4.6 (newer ones delete never-pulled bouncers by creation time, but only those they
 * created themselves from a certificate or registration token, which this server does not do).
 */
export function isStaleBouncer(b: BouncerRetentionFacts, policy: AutodeletePolicy, now: Date): boolean {
  const duration = b.authType === 'tls' ? policy.bouncers.tls : policy.bouncers.apiKey;
  return duration !== undefined && b.lastPull !== null && b.lastPull.getTime() <= now.getTime() - duration;
}

/** Whether any autodelete duration is set, i.e. whether the autodelete job has anything to do. */
export const autodeleteEnabled = (p: AutodeletePolicy): boolean =>
  [p.machines.password, p.machines.tls, p.machines.notSeen, p.bouncers.apiKey, p.bouncers.tls].some(
    (d) => d !== undefined,
  );

/** Whether the flush has anything to do. */
export const flushEnabled = (p: FlushPolicy): boolean => p.maxItems !== undefined || p.maxAgeMs !== undefined;

/** The oldest time any autodelete duration reaches back to: a bound for the query of candidates. */
export const autodeleteCutoff = (durations: readonly (number | undefined)[], now: Date): Date | undefined => {
  const set = durations.filter((d): d is number => d !== undefined);
  return set.length === 0 ? undefined : new Date(now.getTime() - Math.min(...set));
};

/** `lapi machines prune` and LAPI_MACHINES_PRUNE_NOT_SEEN: machines not seen for a while. */
export interface MachinePruneRule {
  readonly notSeenMs: number;
  /** Only machines never validated (cscli's `--not-validated-only`). */
  readonly notValidatedOnly: boolean;
}

export interface MachinePruneFacts {
  readonly ipAddress: string;
  readonly validated: boolean;
  readonly lastHeartbeat: Date | null;
  /** Moves on registration, validation and every login: cscli logs in on each command and sends no heartbeat. */
  readonly updatedAt: Date;
}

/** The last sign of life: a heartbeat, a login, a validation, or the registration itself. */
export const machineLastSeen = (m: MachinePruneFacts): Date =>
  m.lastHeartbeat && m.lastHeartbeat.getTime() > m.updatedAt.getTime() ? m.lastHeartbeat : m.updatedAt;

/**
 * A machine is pruned once it has not been seen for the duration, validated or not — pods that crashed before their
 * first heartbeat and registrations nobody validated included (the reference's prune takes every pending machine
 * whatever its age; here a registration younger than the duration is kept, so one awaiting validation is not lost).
 * The machine last seen from loopback, the LAPI host's own agent, is kept as autodelete keeps it.
 */
export function isPrunableMachine(m: MachinePruneFacts, rule: MachinePruneRule, now: Date): boolean {
  return (
    (!rule.notValidatedOnly || !m.validated) &&
    machineLastSeen(m).getTime() <= now.getTime() - rule.notSeenMs &&
    !LOOPBACK.has(m.ipAddress)
  );
}
