import {
  ALERT_DELETIONS_STREAM,
  alertsDeleted,
  alertsToFlush,
  autodeleteCutoff,
  bouncerStreamId,
  decideBouncer,
  flushAgeCutoff,
  isStaleBouncer,
  isStaleMachine,
  latestPull,
  type Actor,
  type AlertRetentionFacts,
  type AutodeletePolicy,
  type EventMetadata,
  type FlushPolicy,
  type Machine,
} from '@lapi/domain';
import type { DatabaseHandle, EventStore } from '@lapi/event-store';
import {
  alertsBelowId,
  alertsCreatedBefore,
  bouncersSilentSince,
  loadBouncerAggregate,
  machinesSilentSince,
  nthNewestAlertId,
  positionTimes,
} from '@lapi/read-models';
import type { ProjectionBarrier } from '../decisions/decision-reader';
import { deleteMachineIf, pruneMachines } from '../machines/prune-machines';
import type { CredentialChanges } from '../shared/credential-changes';
import { handleCommand } from '../shared/handle-command';

/** The reference's db_config.flush, as configured (LAPI_FLUSH_*, LAPI_*_AUTODELETE_*). */
export interface RetentionPolicy {
  readonly flush: FlushPolicy;
  readonly autodelete: AutodeletePolicy;
}
export const RETENTION_POLICY = Symbol('RETENTION_POLICY');

/** Who the retention's events name as their cause. */
export const RETENTION_ACTOR: Actor = { kind: 'system', id: 'retention' };

export interface RetentionDeps {
  readonly database: DatabaseHandle;
  readonly store: EventStore;
  /** Cluster mode: each batch waits until bouncers' read model has applied it, as API writes do. */
  readonly barrier: ProjectionBarrier;
  /** Told each machine and bouncer deleted, for the API processes' caches. */
  readonly credentials: CredentialChanges;
  /** Asked before every write; false ends the run (the worker lost its lease to another). */
  readonly stillLeader?: () => Promise<boolean>;
  /**
   * The last pull of each stream position key (its position's or lookup's time, ISO): in a cluster the positions are
   * in Redis; by default the database's (embedded mode, PostgreSQL alone).
   */
  readonly pullTimes?: (keys: readonly string[]) => Promise<Map<string, string>>;
}

// Alert ids per AlertsDeleted event: bounded events and transactions; a million alerts is a thousand appends.
export const FLUSH_BATCH = 1_000;

export interface FlushResult {
  /** Flushed for being max_age old or more. */
  byAge: number;
  /** Flushed for being older than the max_items newest. */
  byCount: number;
  /** False when the run stopped early because it lost its lease. */
  completed: boolean;
}

/**
 * Deletes the alerts past max_age, then those older than the max_items newest, never one that still owns an active
 * decision; in AlertsDeleted events of at most FLUSH_BATCH ids, as DELETE /v1/alerts does.
 */
export async function flushAlerts(deps: RetentionDeps, policy: FlushPolicy, now: Date): Promise<FlushResult> {
  const db = deps.database.db;
  const result: FlushResult = { byAge: 0, byCount: 0, completed: true };
  const metadata: EventMetadata = { actor: RETENTION_ACTOR, at: now.toISOString() };
  const cutoff = flushAgeCutoff(policy, now);
  if (cutoff) {
    let after: AlertRetentionFacts | null = null;
    for (;;) {
      const page = await alertsCreatedBefore(db, cutoff, now, after, FLUSH_BATCH);
      const ids = alertsToFlush(page, policy, { now });
      if (!(await deleteAlerts(deps, ids, metadata))) {
        return { ...result, completed: false };
      }
      result.byAge += ids.length;
      if (page.length < FLUSH_BATCH) {
        break;
      }
      after = page[page.length - 1];
    }
  }
  if (policy.maxItems !== undefined) {
    // Ranked after the age pass, as the reference does: what it deleted no longer counts.
    const countLimitId = await nthNewestAlertId(db, policy.maxItems);
    let afterId = 0;
    while (countLimitId !== undefined) {
      const page = await alertsBelowId(db, countLimitId, now, afterId, FLUSH_BATCH);
      const ids = alertsToFlush(page, policy, { now, countLimitId });
      if (!(await deleteAlerts(deps, ids, metadata))) {
        return { ...result, completed: false };
      }
      result.byCount += ids.length;
      if (page.length < FLUSH_BATCH) {
        break;
      }
      afterId = page[page.length - 1].id;
    }
  }
  return result;
}

/** One AlertsDeleted event, then the wait for the projection; false when the lease was lost first. */
async function deleteAlerts(deps: RetentionDeps, alertIds: number[], metadata: EventMetadata): Promise<boolean> {
  if (alertIds.length === 0) {
    return true;
  }
  if (deps.stillLeader && !(await deps.stillLeader())) {
    return false;
  }
  const appended = await deps.store.appendToStream(
    ALERT_DELETIONS_STREAM,
    [alertsDeleted(alertIds, new Date(metadata.at))],
    { expectedVersion: 'any', metadata },
  );
  await deps.barrier.waitFor([appended]);
  return true;
}

export interface AutodeleteResult {
  machines: string[];
  bouncers: string[];
  completed: boolean;
}

/**
 * Deletes the machines and bouncers silent for longer than their auth type's duration (the reference's
 * FlushAgentsAndBouncers), each through its own decider: the staleness is checked again on the state the deletion
 * is decided on, so one that checked in since the query is kept (the append would conflict and retry).
 */
export async function autodeleteClients(
  deps: RetentionDeps,
  policy: AutodeletePolicy,
  now: Date,
): Promise<AutodeleteResult> {
  const db = deps.database.db;
  const metadata: EventMetadata = { actor: RETENTION_ACTOR, at: now.toISOString() };
  const result: AutodeleteResult = { machines: [], bouncers: [], completed: true };
  const leader = async () => !deps.stillLeader || (await deps.stillLeader());

  const machineCutoff = autodeleteCutoff([policy.machines.password, policy.machines.tls], now);
  for (const candidate of machineCutoff ? await machinesSilentSince(db, machineCutoff) : []) {
    if (!isStaleMachine(candidate, policy, now)) {
      continue;
    }
    if (!(await leader())) {
      return { ...result, completed: false };
    }
    const { machineId } = candidate;
    const stillStale = (state: Machine) =>
      isStaleMachine(
        {
          ...candidate,
          authType: state.authType,
          ipAddress: state.ipAddress,
          lastHeartbeat: date(state.lastHeartbeat),
        },
        policy,
        now,
      );
    if (await deleteMachineIf(deps, machineId, stillStale, now, metadata)) {
      result.machines.push(machineId);
    }
  }

  if (policy.machines.notSeen !== undefined) {
    const pruned = await pruneMachines(
      deps,
      { notSeenMs: policy.machines.notSeen, notValidatedOnly: false },
      now,
      metadata,
    );
    result.machines.push(...pruned.machines);
    if (!pruned.completed) {
      return { ...result, completed: false };
    }
  }

  const bouncerCutoff = autodeleteCutoff([policy.bouncers.apiKey, policy.bouncers.tls], now);
  const pullTimes = deps.pullTimes ?? ((keys: readonly string[]) => positionTimes(db, keys));
  // A bouncer's last pull: the latest of the one events recorded and its processes' positions and lookups.
  const lastPull = async (recorded: string | null, keys: readonly string[]) => {
    const times = await pullTimes(keys);
    return date(latestPull([recorded, ...keys.map((key) => times.get(key))]));
  };
  for (const silent of bouncerCutoff ? await bouncersSilentSince(db, bouncerCutoff) : []) {
    const candidate = {
      ...silent,
      lastPull: await lastPull(silent.lastPull?.toISOString() ?? null, silent.positionKeys),
    };
    if (!isStaleBouncer(candidate, policy, now)) {
      continue;
    }
    if (!(await leader())) {
      return { ...result, completed: false };
    }
    const { name } = candidate;
    // Asked again just before deleting: a bouncer back since the list was read is kept.
    const pulledLast = await lastPull(null, candidate.positionKeys);
    const events = await handleCommand(
      deps.store,
      bouncerStreamId(name),
      () => loadBouncerAggregate(db, name),
      (state) =>
        state &&
        isStaleBouncer(
          { ...candidate, lastPull: date(latestPull([state.lastPull, pulledLast?.toISOString()])) },
          policy,
          now,
        )
          ? decideBouncer({ type: 'DeleteBouncer', data: { name } }, state, now)
          : [],
      metadata,
    );
    if (events.length > 0) {
      await deps.credentials.announce({ kind: 'bouncer-deleted', name });
      result.bouncers.push(name);
    }
  }
  return result;
}

const date = (iso: string | null): Date | null => (iso === null ? null : new Date(iso));
