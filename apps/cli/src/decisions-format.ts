import type { AlertResponse } from '@lapi/lapi-contract';
import { table } from './format';
import { csvField } from './output';

// `lapi decisions list`'s three outputs, as `cscli decisions list` prints them (1.4.6, cmd/crowdsec-cli/decisions.go
// DecisionsToTable and decisions_table.go) from the alerts GET /v1/alerts answers.

type Decision = NonNullable<AlertResponse['decisions']>[number];

/**
 * cscli's de-duplication, before any output: one decision per simulated:type:scope:value, the first met (alerts come
 * newest first) kept; each alert keeps the list of its own that remain. `skipped`: how many were left out.
 */
export function dedupDecisions(alerts: readonly AlertResponse[]): { alerts: AlertResponse[]; skipped: number } {
  const seen = new Set<string>();
  let skipped = 0;
  const kept = alerts.map((alert) => ({
    ...alert,
    decisions: (alert.decisions ?? []).filter((d) => {
      const key = `${d.simulated}:${d.type}:${d.scope}:${d.value}`;
      if (seen.has(key)) {
        skipped++;
        return false;
      }
      seen.add(key);
      return true;
    }),
  }));
  return { alerts: kept, skipped };
}

/** models.Source.GetAsNumberName: the AS number (unless "0") and name. */
const asNumberName = (source: AlertResponse['source']): string =>
  (source.as_number !== undefined && source.as_number !== '0' ? source.as_number : '') +
  (source.as_name ? ` ${source.as_name}` : '');

const rows = (alerts: readonly AlertResponse[], machine: boolean, simulatedMark: boolean): string[][] =>
  alerts.flatMap((a) =>
    (a.decisions ?? []).map((d: Decision) => [
      String(d.id),
      d.origin,
      `${d.scope}:${d.value}`,
      d.scenario,
      // The table marks the decisions of a simulated alert; the csv does not (decisions_table.go).
      simulatedMark && a.simulated ? `(simul)${d.type}` : d.type,
      a.source.cn ?? '',
      asNumberName(a.source),
      String(a.events_count),
      d.duration,
      ...(simulatedMark ? [] : [String(d.simulated)]),
      String(a.id),
      ...(machine ? [a.machine_id ?? ''] : []),
    ]),
  );

/** The human output: "No active decisions", or the table and how many duplicates it left out. */
export function decisionsTable(alerts: readonly AlertResponse[], opts: { machine?: boolean } = {}): string {
  if (alerts.length === 0) {
    return 'No active decisions';
  }
  const { alerts: kept, skipped } = dedupDecisions(alerts);
  const headers = ['ID', 'Source', 'Scope:Value', 'Reason', 'Action', 'Country', 'AS', 'Events', 'expiration'];
  headers.push('Alert ID', ...(opts.machine ? ['Machine'] : []));
  const text = table(headers, rows(kept, opts.machine === true, true));
  return skipped > 0 ? `${text}\n${skipped} duplicated entries skipped` : text;
}

/** `-o raw`: cscli's csv, header included (written as Go's encoding/csv writes it). */
export function decisionsCsv(alerts: readonly AlertResponse[], opts: { machine?: boolean } = {}): string {
  const header = ['id', 'source', 'ip', 'reason', 'action', 'country', 'as', 'events_count', 'expiration'];
  header.push('simulated', 'alert_id', ...(opts.machine ? ['machine'] : []));
  const lines = [header, ...rows(dedupDecisions(alerts).alerts, opts.machine === true, false)];
  return lines.map((cells) => cells.map(csvField).join(',')).join('\n');
}

/**
 * `-o json`: what cscli prints, the alerts (decisions de-duplicated) re-encoded by Go's json.MarshalIndent with a
 * one-space indent; Go writes a struct's fields in order, and the models' fields are in alphabetical order. No alerts:
 * `null`.
 */
export function decisionsJson(alerts: readonly AlertResponse[]): string {
  return alerts.length === 0 ? 'null' : JSON.stringify(sortedKeys(dedupDecisions(alerts).alerts), null, 1);
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortedKeys);
  }
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}
