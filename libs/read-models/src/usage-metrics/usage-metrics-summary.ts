import type { UsageMetricsItem } from '@lapi/domain/usage-metrics/usage-metrics';
import type { StoredUsageReport } from './usage-metrics.projection';

/** [origin][metric][unit] → value: what `lapi metrics` shows per component (cscli's "Bouncer Metrics"). */
export type UsageTable = Record<string, Record<string, Record<string, number>>>;

export interface UsageSummary {
  readonly kind: StoredUsageReport['kind'];
  readonly name: string;
  /** The oldest window measured (its utc_now_timestamp), ISO. */
  readonly since: string;
  readonly byOrigin: UsageTable;
}

/**
 * cscli's rule (climetrics/statbouncer.go): an item sent twice counts once; a gauge (`active_decisions`, `*_gauge`)
 * keeps its latest value per IP type, any other metric is summed over the windows; then IP types are summed.
 * Values are truncated to integers, as cscli does.
 */
export const isGaugeMetric = (name: string): boolean => name === 'active_decisions' || name.endsWith('_gauge');

export function summarizeUsage(reports: readonly StoredUsageReport[]): UsageSummary[] {
  interface Measure {
    at: number;
    ipType: string;
    origin: string;
    item: UsageMetricsItem;
  }
  const components = new Map<
    string,
    { kind: StoredUsageReport['kind']; name: string; measures: Map<string, Measure> }
  >();
  for (const r of reports) {
    const id = `${r.kind}\0${r.name}`;
    const component = components.get(id) ?? { kind: r.kind, name: r.name, measures: new Map<string, Measure>() };
    components.set(id, component);
    for (const block of r.report.metrics ?? []) {
      for (const item of block.items) {
        const m = {
          at: block.meta.utc_now_timestamp,
          ipType: item.labels?.ip_type ?? '',
          origin: item.labels?.origin ?? '',
          item,
        };
        component.measures.set(JSON.stringify([m.at, m.ipType, m.origin, item.name, item.unit, item.value]), m);
      }
    }
  }
  return [...components.values()]
    .filter((c) => c.measures.size > 0)
    .sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name))
    .map((c) => {
      const measures = [...c.measures.values()].sort((a, b) => a.at - b.at);
      // [origin, metric, unit, ipType] → value, over time.
      const overTime = new Map<string, number>();
      for (const m of measures) {
        const key = JSON.stringify([m.origin, m.item.name, m.item.unit, m.ipType]);
        const value = Math.trunc(m.item.value);
        overTime.set(key, isGaugeMetric(m.item.name) ? value : (overTime.get(key) ?? 0) + value);
      }
      const byOrigin: UsageTable = {};
      for (const [key, value] of overTime) {
        const [origin, metric, unit] = JSON.parse(key) as string[];
        const units = ((byOrigin[origin] ??= {})[metric] ??= {});
        units[unit] = (units[unit] ?? 0) + value;
      }
      return { kind: c.kind, name: c.name, since: new Date(measures[0].at * 1000).toISOString(), byOrigin };
    });
}

/** One exported series: a component's latest window of one metric, by origin and IP type. */
export interface UsageSample {
  readonly kind: StoredUsageReport['kind'];
  readonly component: string;
  readonly metric: string;
  readonly unit: string;
  readonly origin: string;
  readonly ipType: string;
  readonly value: number;
}

/**
 * The newest window of each component's latest report, items with the same labels summed, for Prometheus. At most
 * `maxSeries`: label values come from clients, so the series count is capped whatever they send.
 */
export function latestUsageSamples(latest: readonly StoredUsageReport[], maxSeries: number): UsageSample[] {
  const samples = new Map<string, UsageSample>();
  for (const r of latest) {
    const blocks = r.report.metrics ?? [];
    const newest = blocks.reduce<(typeof blocks)[number] | undefined>(
      (a, b) => (a && a.meta.utc_now_timestamp >= b.meta.utc_now_timestamp ? a : b),
      undefined,
    );
    for (const item of newest?.items ?? []) {
      const origin = item.labels?.origin ?? '';
      const ipType = item.labels?.ip_type ?? '';
      const key = JSON.stringify([r.kind, r.name, item.name, item.unit, origin, ipType]);
      const known = samples.get(key);
      if (!known && samples.size >= maxSeries) {
        continue;
      }
      samples.set(key, {
        kind: r.kind,
        component: r.name,
        metric: item.name,
        unit: item.unit,
        origin,
        ipType,
        value: (known?.value ?? 0) + item.value,
      });
    }
  }
  return [...samples.values()];
}
