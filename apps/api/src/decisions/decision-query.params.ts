import { normalizeScope } from '@lapi/domain';
import type { DecisionDeleteFilter, DecisionFilter } from '@lapi/read-models';
import { badFilter, commaList, containsParam, first, ipParam, type QueryParams } from '../http/query-params';

/**
 * GET /v1/decisions and the stream (reference §3.12, §3.13); unknown parameters are ignored there. Built field by
 * field (in the order the spreads gave): this runs on every lookup and poll.
 */
export function parseDecisionFilter(query: QueryParams, options: { defaultScopes?: string[] } = {}): DecisionFilter {
  const get = (key: string) => first(query, key);
  const ip = get('ip');
  const range = get('range');
  // `scope` is an alias of `scopes` since 1.6.1.
  const scopesText = get('scopes') ?? get('scope');
  const scopes = scopesText !== undefined ? commaList(scopesText).map(normalizeScope) : options.defaultScopes;
  const value = get('value');
  const type = get('type');
  const origins = get('origins');
  const containing = get('scenarios_containing');
  const notContaining = get('scenarios_not_containing');
  const simulated = get('simulated');
  const filter: { -readonly [K in keyof DecisionFilter]: DecisionFilter[K] } = {
    contains: true,
    includeSimulated: false,
  };
  if (ip !== undefined) {
    filter.ip = ipParam(ip);
  }
  if (range !== undefined) {
    filter.range = ipParam(range);
  }
  filter.contains = containsParam(get('contains'));
  if (scopes !== undefined) {
    filter.scopes = scopes;
  }
  if (value !== undefined) {
    filter.value = value;
  }
  if (type !== undefined) {
    filter.type = type;
  }
  if (origins !== undefined) {
    filter.origins = commaList(origins);
  }
  if (containing !== undefined) {
    filter.scenariosContaining = commaList(containing);
  }
  if (notContaining !== undefined) {
    filter.scenariosNotContaining = commaList(notContaining);
  }
  // Absent or `false` hides simulated decisions; any other value shows them (reference §5.4).
  filter.includeSimulated = simulated !== undefined && simulated !== 'false';
  return filter;
}

const DELETE_KEYS = new Set(['ip', 'range', 'contains', 'value', 'type', 'scenario', 'origin', 'scopes', 'uuid']);

/** DELETE /v1/decisions (§3.10): anything else, `scope` included, is refused as the reference does. */
export function parseDecisionDeleteFilter(query: QueryParams): DecisionDeleteFilter {
  for (const key of Object.keys(query)) {
    if (!DELETE_KEYS.has(key)) {
      throw badFilter(`'${key}' doesn't exist: invalid filter`);
    }
  }
  const get = (key: string) => first(query, key);
  const ip = get('ip');
  const range = get('range');
  const uuid = query.uuid;
  return {
    ...(ip !== undefined ? { ip: ipParam(ip) } : {}),
    ...(range !== undefined ? { range: ipParam(range) } : {}),
    contains: containsParam(get('contains')),
    ...(get('value') !== undefined ? { value: get('value') } : {}),
    ...(get('type') !== undefined ? { type: get('type') } : {}),
    ...(get('scenario') !== undefined ? { scenario: get('scenario') } : {}),
    ...(get('origin') !== undefined ? { origin: get('origin') } : {}),
    ...(get('scopes') !== undefined ? { scope: get('scopes') } : {}),
    ...(uuid !== undefined ? { uuids: (Array.isArray(uuid) ? uuid : [uuid]).flatMap(commaList) } : {}),
  };
}
