import { AlertNotFoundError } from '@lapi/domain/alerts/alert.errors';
import { normalizeScope } from '@lapi/domain/shared/scope';
import type { AlertResponse } from '@lapi/lapi-contract';
import { findAlertIds, loadAlerts, type AlertFilter } from '@lapi/read-models/alerts/alert-queries';
import { cscliIpFlags, durationAgo, type CscliFilterFlags } from '../shared/cscli-flags';
import type { CommandContext, WriteDeps } from '../shared/ports';
import { deleteAlertsById } from './alert-writes';
import { presentAlert } from './alert.presenter';

// `lapi alerts list|inspect|delete`: the queries and the deletion GET and DELETE /v1/alerts run, fed with the filters
// cscli's flags send them (cmd/crowdsec-cli/alerts.go 1.4.6). Nest-free: the CLI runs it in its own process.

/** cscli's alert filters, as typed on the command line. */
export interface AlertsCliFilter extends CscliFilterFlags {
  /** A duration: alerts started at most that long ago (list only). */
  readonly since?: string;
  /** A duration: alerts started at least that long ago (list only). */
  readonly until?: string;
  /** --all of `alerts list`: community-blocklist and list alerts too. */
  readonly includeCapi?: boolean;
}

/**
 * The AlertFilter GET/DELETE /v1/alerts would build from what cscli sends for these flags: --contained sends
 * contains=false, `list` sends include_capi=false unless --all, `delete` sends no include_capi (all alerts).
 */
export function alertFilterOf(f: AlertsCliFilter, now: Date, purpose: 'list' | 'delete'): AlertFilter {
  const { ip, range } = cscliIpFlags(f);
  return {
    ...(f.scope !== undefined ? { scope: normalizeScope(f.scope) } : {}),
    ...(f.value !== undefined ? { value: f.value } : {}),
    ...(f.scenario !== undefined ? { scenario: f.scenario } : {}),
    ...(ip ? { ip } : {}),
    ...(range ? { range } : {}),
    contains: f.contained !== true,
    ...(f.since !== undefined ? { since: durationAgo('since', f.since, now) } : {}),
    ...(f.until !== undefined ? { until: durationAgo('until', f.until, now) } : {}),
    ...(f.type !== undefined ? { decisionType: f.type } : {}),
    includeCapi: purpose === 'delete' || f.includeCapi === true,
  };
}

/** The alerts a filter selects, newest first, as GET /v1/alerts answers them (limit 0: all). */
export async function listAlerts(deps: WriteDeps, filter: AlertsCliFilter, limit: number): Promise<AlertResponse[]> {
  const now = deps.clock.now();
  const ids = await findAlertIds(deps.database.db, alertFilterOf(filter, now, 'list'), { now, limit, sort: 'DESC' });
  return (await loadAlerts(deps.database.db, ids)).map((a) => presentAlert(a, now));
}

/** One alert as GET /v1/alerts/:id answers it, or null. */
export async function inspectAlert(deps: WriteDeps, id: number): Promise<AlertResponse | null> {
  const [alert] = await loadAlerts(deps.database.db, [id]);
  return alert ? presentAlert(alert, deps.clock.now()) : null;
}

/**
 * Deletes the alerts a filter selects (an empty filter: all of them), or one alert by id, with their decisions:
 * one AlertsDeleted event, as DELETE /v1/alerts appends. Resolves with how many and what was appended.
 */
export async function deleteAlerts(
  deps: WriteDeps,
  target: { filter: AlertsCliFilter } | { id: number },
  context: CommandContext,
) {
  const now = deps.clock.now();
  let ids: number[];
  if ('id' in target) {
    const [alert] = await loadAlerts(deps.database.db, [target.id], false);
    if (!alert) {
      throw new AlertNotFoundError();
    }
    ids = [target.id];
  } else {
    ids = await findAlertIds(deps.database.db, alertFilterOf(target.filter, now, 'delete'), {
      now,
      limit: 0,
      sort: 'DESC',
    });
  }
  return { deleted: ids.length, appended: await deleteAlertsById(deps.store, ids, context, now) };
}
