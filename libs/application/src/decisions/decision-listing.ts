import { ValidationError } from '@lapi/domain/shared/errors';
import { normalizeScope } from '@lapi/domain/shared/scope';
import type { DatabaseHandle } from '@lapi/event-store';
import type { AlertResponse } from '@lapi/lapi-contract';
import { findAlertIds, loadAlerts, type AlertFilter } from '@lapi/read-models/alerts/alert-queries';
import type { DecisionDeleteFilter } from '@lapi/read-models/decisions/sql/decision-queries';
import { presentAlert } from '../alerts/alert.presenter';
import { cscliIpFlags, durationAgo, type CscliFilterFlags } from '../shared/cscli-flags';

// `cscli decisions list` and `delete` (1.4.6, cmd/crowdsec-cli/decisions.go) turn their flags into the query of
// GET /v1/alerts and DELETE /v1/decisions; `lapi decisions` turns them into the same filters, read and written by
// the same queries those endpoints use.

/** The flags of `cscli decisions list` (`all`: -a, CAPI and lists included, no limit; `limit`: 0 for none). */
export interface DecisionListOptions extends CscliFilterFlags {
  readonly origin?: string;
  readonly since?: string;
  readonly until?: string;
  readonly all?: boolean;
  readonly limit?: number;
  readonly noSimu?: boolean;
}

/** The flags of `cscli decisions delete` that select decisions (besides --id and --all). */
export interface DecisionDeleteOptions extends CscliFilterFlags {
  readonly origin?: string;
}

/** cscli's default --limit. */
export const DEFAULT_LIST_LIMIT = 100;

/** -i/-r checked as cscli does; ip/range/as/country scopes spelled as the LAPI stores them. */
function checkedShorthands(o: { ip?: string; range?: string; scope?: string }) {
  return { ...cscliIpFlags(o), scope: o.scope ? normalizeScope(o.scope) : undefined };
}

const given = (value: string | undefined): string | undefined => (value === '' ? undefined : value);

/** The GET /v1/alerts filter cscli's list sends: alerts with an active decision, CAPI and lists only with --all. */
export function decisionListQuery(o: DecisionListOptions, now: Date): { filter: AlertFilter; limit: number } {
  const { ip, range, scope } = checkedShorthands(o);
  const limit = o.all ? 0 : (o.limit ?? DEFAULT_LIST_LIMIT);
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new ValidationError(`--limit: expected a whole number (0 for no limit), got ${String(o.limit)}`);
  }
  const filter: AlertFilter = {
    ...(scope !== undefined ? { scope } : {}),
    ...(given(o.value) !== undefined ? { value: o.value } : {}),
    ...(given(o.scenario) !== undefined ? { scenario: o.scenario } : {}),
    ...(ip ? { ip } : {}),
    ...(range ? { range } : {}),
    contains: o.contained !== true,
    ...(given(o.since) !== undefined ? { since: durationAgo('since', o.since!, now) } : {}),
    ...(given(o.until) !== undefined ? { until: durationAgo('until', o.until!, now) } : {}),
    ...(given(o.type) !== undefined ? { decisionType: o.type } : {}),
    ...(given(o.origin) !== undefined ? { origin: o.origin } : {}),
    includeCapi: o.all === true,
    hasActiveDecision: true,
    ...(o.noSimu ? { simulated: false as const } : {}),
  };
  return { filter, limit };
}

/**
 * The alerts `cscli decisions list` shows, newest first, as GET /v1/alerts answers them (the API models), each
 * with only its decisions still active: one a deletion or its end expired is not listed.
 */
export async function listDecisionAlerts(
  database: DatabaseHandle,
  options: DecisionListOptions,
  now: Date,
): Promise<AlertResponse[]> {
  const { filter, limit } = decisionListQuery(options, now);
  const alerts = await loadAlerts(database.db, await findAlertIds(database.db, filter, { now, limit, sort: 'DESC' }));
  return alerts.map((a) => presentAlert({ ...a, decisions: a.decisions.filter((d) => d.until > now) }, now));
}

/** The DELETE /v1/decisions filter cscli's delete sends; the caller refuses an empty one without --all. */
export function decisionDeleteFilter(o: DecisionDeleteOptions): DecisionDeleteFilter {
  const { ip, range, scope } = checkedShorthands(o);
  return {
    ...(ip ? { ip } : {}),
    ...(range ? { range } : {}),
    contains: o.contained !== true,
    ...(given(o.value) !== undefined ? { value: o.value } : {}),
    ...(given(o.type) !== undefined ? { type: o.type } : {}),
    ...(given(o.scenario) !== undefined ? { scenario: o.scenario } : {}),
    ...(given(o.origin) !== undefined ? { origin: o.origin } : {}),
    ...(scope !== undefined ? { scope } : {}),
  };
}
