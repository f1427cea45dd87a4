import { summarizeUsage, type UsageSummary } from '@lapi/read-models/usage-metrics/usage-metrics-summary';
import type { StoredUsageReport } from '@lapi/read-models/usage-metrics/usage-metrics.projection';
import { rawTable, table, type TableStyle } from './format';

// cscli's plurals in its column headers (climetrics/statbouncer.go knownPlurals).
const PLURALS: Record<string, string> = { byte: 'bytes', packet: 'packets', ip: 'IPs' };
// cscli explains the origins users may not know.
const ORIGINS: Record<string, string> = {
  CAPI: 'CAPI (community blocklist)',
  cscli: 'cscli (manual decisions)',
  crowdsec: 'crowdsec (security engine)',
};
const TITLES = { bouncer: 'Bouncer Metrics', machine: 'Log Processor Metrics' };

/** `lapi metrics -o json`: as `cscli metrics show bouncers -o json`, `[component][origin][metric][unit]`. */
export function usageJson(reports: readonly StoredUsageReport[]) {
  const json = { bouncers: {} as Record<string, unknown>, machines: {} as Record<string, unknown> };
  for (const s of summarizeUsage(reports)) {
    json[s.kind === 'bouncer' ? 'bouncers' : 'machines'][s.name] = s.byOrigin;
  }
  return json;
}

/** `lapi metrics`: a table per component as cscli's "Bouncer Metrics (<name>) since …"; a row per origin, totals. */
export function usageTables(reports: readonly StoredUsageReport[], style?: TableStyle): string {
  const summaries = summarizeUsage(reports);
  if (summaries.length === 0) {
    return 'No usage metrics found.';
  }
  return summaries.map((s) => componentTable(s, style)).join('\n\n');
}

/** `lapi metrics -o raw`: a CSV line per component, origin (empty: none), metric and unit. */
export function usageCsv(reports: readonly StoredUsageReport[]): string {
  return rawTable(
    ['kind', 'name', 'origin', 'metric', 'unit', 'value'],
    summarizeUsage(reports).flatMap((s) =>
      Object.entries(s.byOrigin).flatMap(([origin, metrics]) =>
        Object.entries(metrics).flatMap(([metric, units]) =>
          Object.entries(units).map(([unit, value]) => [s.kind, s.name, origin, metric, unit, String(value)]),
        ),
      ),
    ),
  );
}

function componentTable(s: UsageSummary, style?: TableStyle): string {
  const columns = [
    ...new Set(
      Object.values(s.byOrigin).flatMap((m) =>
        Object.entries(m).flatMap(([name, units]) => Object.keys(units).map((unit) => JSON.stringify([name, unit]))),
      ),
    ),
  ]
    .sort()
    .map((c) => JSON.parse(c) as [string, string]);
  const cells = (metrics: Record<string, Record<string, number>>) =>
    columns.map(([name, unit]) => (metrics[name]?.[unit] === undefined ? '-' : String(metrics[name][unit])));
  const totals: Record<string, Record<string, number>> = {};
  for (const metrics of Object.values(s.byOrigin)) {
    for (const [name, units] of Object.entries(metrics)) {
      for (const [unit, value] of Object.entries(units)) {
        (totals[name] ??= {})[unit] = (totals[name][unit] ?? 0) + value;
      }
    }
  }
  // Items without an origin (processed bytes, an agent's counts) only add to the totals, as in cscli.
  const rows = Object.keys(s.byOrigin)
    .filter((origin) => origin !== '')
    .sort()
    .map((origin) => [ORIGINS[origin] ?? origin, ...cells(s.byOrigin[origin])]);
  const headers = [
    'Origin',
    ...columns.map(([name, unit]) => `${name.replace(/_gauge$/, '')} (${PLURALS[unit] ?? unit})`),
  ];
  return `${TITLES[s.kind]} (${s.name}) since ${s.since}:\n${table(headers, [...rows, ['Total', ...cells(totals)]], style)}`;
}
