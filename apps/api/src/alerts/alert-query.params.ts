import type { AlertFilter } from '@lapi/read-models';
import {
  agoParam,
  badFilter,
  containsParam,
  first,
  ipParam,
  parseGoBool,
  type QueryParams,
} from '../http/query-params';

const KNOWN = new Set([
  'scope',
  'value',
  'scenario',
  'ip',
  'range',
  'contains',
  'since',
  'until',
  'created_before',
  'decision_type',
  'origin',
  'include_capi',
  'has_active_decision',
  'simulated',
  'limit',
  'sort',
  'kind',
  'with_decisions',
]);

// Alert filters map only ip and range to canonical scopes (reference §5.2).
const alertScope = (scope: string): string => {
  const lower = scope.toLowerCase();
  return lower === 'ip' ? 'Ip' : lower === 'range' ? 'Range' : scope;
};

export interface AlertQuery {
  readonly filter: AlertFilter;
  readonly limit: number;
  readonly sort: 'ASC' | 'DESC';
  readonly withDecisions: boolean;
}

/** GET/DELETE /v1/alerts parameters (reference §3.6); an unknown one is refused, as the reference does. */
export function parseAlertQuery(query: QueryParams, now: Date): AlertQuery {
  for (const key of Object.keys(query)) {
    if (!KNOWN.has(key)) {
      throw badFilter(`Filter parameter '${key}' is unknown (=${first(query, key) ?? ''}): invalid filter`);
    }
  }
  const get = (key: string) => first(query, key);
  const bool = (key: string): boolean | undefined => {
    const v = get(key);
    if (v === undefined) {
      return undefined;
    }
    const parsed = parseGoBool(v);
    if (parsed === null) {
      throw badFilter(`'${key}' must be a boolean (true or false), got '${v}': invalid filter`);
    }
    return parsed;
  };
  const limitText = get('limit');
  let limit = 100;
  if (limitText !== undefined) {
    limit = /^\d{1,9}$/.test(limitText) ? Number(limitText) : NaN;
    if (Number.isNaN(limit)) {
      throw badFilter(`bad limit in parameters: [${limitText}]: unable to query`);
    }
  }
  const scope = get('scope');
  const ip = get('ip');
  const range = get('range');
  const since = get('since');
  const until = get('until');
  const createdBefore = get('created_before');
  const filter: AlertFilter = {
    ...(scope !== undefined ? { scope: alertScope(scope) } : {}),
    ...(get('value') !== undefined ? { value: get('value') } : {}),
    ...(get('scenario') !== undefined ? { scenario: get('scenario') } : {}),
    ...(ip !== undefined ? { ip: ipParam(ip) } : {}),
    ...(range !== undefined ? { range: ipParam(range) } : {}),
    contains: containsParam(get('contains')),
    ...(since !== undefined ? { since: agoParam(since, now) } : {}),
    ...(until !== undefined ? { until: agoParam(until, now) } : {}),
    ...(createdBefore !== undefined ? { createdBefore: agoParam(createdBefore, now) } : {}),
    ...(get('decision_type') !== undefined ? { decisionType: get('decision_type') } : {}),
    ...(get('origin') !== undefined ? { origin: get('origin') } : {}),
    // Only `false` hides CAPI and list alerts; other values are ignored (reference).
    includeCapi: get('include_capi') !== 'false',
    ...(bool('has_active_decision') !== undefined ? { hasActiveDecision: bool('has_active_decision') } : {}),
    ...(get('simulated') === 'false' ? { simulated: false as const } : {}),
    ...(get('kind') !== undefined ? { kind: get('kind') } : {}),
  };
  return {
    filter,
    limit,
    sort: get('sort')?.toUpperCase() === 'ASC' ? 'ASC' : 'DESC',
    withDecisions: get('with_decisions') !== 'false',
  };
}
