import { type AlertInput } from '@lapi/domain/alerts/alert';
import {
  ALERT_DELETIONS_STREAM,
  alertsDeleted,
  alertStreamId,
  type AlertReceived,
} from '@lapi/domain/alerts/alert.events';
import { receiveAlertInSteps } from '@lapi/domain/alerts/receive-alert';
import { NANOS_PER_MS, parseGoDuration } from '@lapi/domain/shared/go-duration';
import { parseIpRange } from '@lapi/domain/shared/ip-range';
import type { AppendResult, DatabaseHandle, EventStore } from '@lapi/event-store';
import { mapInSlices, runInSlices, Slicer } from '@lapi/event-store/json-slices';
import { allocateAlertIds } from '@lapi/read-models/alerts/alert-ids';
import { loadActiveAllowlistItems } from '@lapi/read-models/allowlists/allowlists.projection';
import { countDecisions } from '@lapi/read-models/decisions/sql/decision-queries';
import { randomUUID } from 'node:crypto';
import { isAlertAllowlisted, withoutAllowlisted } from '../allowlists/allowlist-checks';
import { toMetadata, type CommandContext } from '../shared/ports';
import type { DecisionStats, ProfileEngine } from './profile-engine';

// No Nest here: the API's PushAlerts handler and the admin CLI (which loads no framework) share it.

/**
 * Decides every alert of a batch (profiles, validation) before anything is stored, so that a bad alert stores
 * none, as a failed request should: the caller appends the events in one transaction.
 */
export async function decideAlerts(
  database: DatabaseHandle,
  profiles: ProfileEngine,
  alerts: readonly AlertInput[],
  machineId: string,
  now: Date,
): Promise<AlertReceived[]> {
  const events: AlertReceived[] = [];
  const allowlists = await loadActiveAllowlistItems(database.db, now);
  for (const alert of alerts) {
    if (isAlertAllowlisted(allowlists, alert)) {
      continue;
    }
    // An alert without decisions (null or []) gets them from the profiles (controllers/v1/alerts.go); one with
    // decisions only runs them for its notifications.
    const { decisions: made, notify } =
      alert.decisions?.length && !profiles.notifies
        ? { decisions: alert.decisions, notify: undefined }
        : await profiles.evaluate(alert, decisionStats(database, now), now);
    const decisions = withoutAllowlisted(allowlists, made);
    const { alertId, decisionIds } = await allocateAlertIds(database.db, decisions.length);
    // In slices: an alert may carry 100k decisions, and other requests should not wait for all of them.
    const slicer = new Slicer();
    const decisionUuids = await mapInSlices(decisions, () => randomUUID(), slicer);
    events.push(
      await runInSlices(
        receiveAlertInSteps(
          alert,
          decisions,
          machineId,
          { alertId, alertUuid: randomUUID(), decisionIds, decisionUuids },
          now,
          notify,
        ),
        slicer,
      ),
    );
  }
  return events;
}

function decisionStats(database: DatabaseHandle, now: Date): DecisionStats {
  const db = database.db;
  const target = (value: string) => parseIpRange(value) ?? value;
  return {
    decisionsCount: async (value) => (await countDecisions(db, target(value))).count,
    decisionsSinceCount: async (value, since) => {
      const ns = parseGoDuration(since);
      const createdSince = new Date(now.getTime() - (ns === null ? 0 : Number(ns / NANOS_PER_MS)));
      return (await countDecisions(db, target(value), { createdSince })).count;
    },
    activeDecisionsCount: async (value) => (await countDecisions(db, target(value), { activeAt: now })).count,
    activeDecisionsTimeLeftMs: async (value) => {
      const { longestUntil } = await countDecisions(db, target(value), { activeAt: now });
      return longestUntil ? Math.max(0, longestUntil.getTime() - now.getTime()) : 0;
    },
  };
}

/** One no_stream append per alert: what the caller stores in one transaction. */
export const alertAppends = (events: readonly AlertReceived[]) =>
  events.map((e) => ({ streamId: alertStreamId(e.data.alertId), events: [e], expectedVersion: 'no_stream' as const }));

/**
 * Deletes alerts, with their decisions, as one AlertsDeleted event (DELETE /v1/alerts and `lapi alerts delete`);
 * the caller waits for the read models with what was appended (nothing when there was no id).
 */
export async function deleteAlertsById(
  store: EventStore,
  alertIds: readonly number[],
  context: CommandContext,
  now: Date,
): Promise<AppendResult[]> {
  if (alertIds.length === 0) {
    return [];
  }
  const appended = await store.appendToStream(ALERT_DELETIONS_STREAM, [alertsDeleted([...alertIds], now)], {
    expectedVersion: 'any',
    metadata: toMetadata(context, now),
  });
  return [appended];
}
