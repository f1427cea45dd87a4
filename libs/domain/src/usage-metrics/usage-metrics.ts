import { ValidationError } from '../shared/errors';
import type { DomainEvent } from '../shared/event';

/** Who sent a usage report: a bouncer (remediation component, API key) or a machine (log processor, JWT). */
export type UsageComponentKind = 'bouncer' | 'machine';

/** One measure of a report: `dropped` 12 `packet` `{origin: "CAPI", ip_type: "ipv4"}`. */
export interface UsageMetricsItem {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly labels?: Readonly<Record<string, string>> | null;
}

/** The measures of one window (swagger DetailedMetrics). */
export interface UsageMetricsBlock {
  readonly meta: { readonly window_size_seconds: number; readonly utc_now_timestamp: number };
  readonly items: readonly UsageMetricsItem[];
}

/**
 * One component's report as sent (swagger RemediationComponentsMetrics / LogProcessorsMetrics), kept in the wire's
 * field names: it is the reference's format, and `lapi metrics -o json` shows it back.
 */
export interface UsageReport {
  readonly version: string;
  readonly utc_startup_timestamp: number;
  readonly type?: string | null;
  readonly os?: { readonly name: string; readonly version: string; readonly family?: string } | null;
  readonly feature_flags?: readonly string[] | null;
  readonly metrics?: readonly UsageMetricsBlock[] | null;
  readonly datasources?: Readonly<Record<string, number>>;
  readonly hub_items?: Readonly<Record<string, readonly object[]>>;
}

export type UsageMetricsReceived = DomainEvent<
  'UsageMetricsReceived',
  {
    kind: UsageComponentKind;
    name: string;
    report: UsageReport;
    /** When the server received it (the reference's collected_at). */
    receivedAt: string;
    /** receivedAt + metrics_max_age: the read model drops the report then (decided once, so a rebuild agrees). */
    expiresAt: string;
  }
>;

export const USAGE_METRICS_EVENT_TYPES: readonly UsageMetricsReceived['type'][] = ['UsageMetricsReceived'];

export const usageMetricsStreamId = (kind: UsageComponentKind, name: string): string => `usage-metrics-${kind}-${name}`;

/** The two sections of a POST /v1/usage-metrics body (swagger AllMetrics). */
export interface UsageSections {
  readonly remediation_components?: readonly UsageReport[] | null;
  readonly log_processors?: readonly UsageReport[] | null;
}

/**
 * The report a caller may send: exactly one item of its own section, nothing in the other. The messages are the
 * reference's (controllers/v1/usagemetrics.go), all 400.
 */
export function usageReportOf(kind: UsageComponentKind, sections: UsageSections): UsageReport {
  const processors = sections.log_processors ?? [];
  const components = sections.remediation_components ?? [];
  if (processors.length > 1) {
    throw new ValidationError('Payload has more than one log processor');
  }
  if (components.length > 1) {
    throw new ValidationError('Payload has more than one remediation component');
  }
  const own = kind === 'machine' ? processors : components;
  const other = kind === 'machine' ? components : processors;
  if (own.length === 0) {
    throw new ValidationError(kind === 'machine' ? 'Missing log processor data' : 'Missing remediation component data');
  }
  if (other.length > 0) {
    // The reference stores the other section's item as the caller's; it is the client's mistake.
    throw new ValidationError('Payload has both LP and RC data');
  }
  return own[0];
}

/** The event recording a report received at `now`, kept for `maxAgeMs` (metrics_max_age). */
export const usageMetricsReceived = (
  kind: UsageComponentKind,
  name: string,
  report: UsageReport,
  now: Date,
  maxAgeMs: number,
): UsageMetricsReceived => ({
  type: 'UsageMetricsReceived',
  data: {
    kind,
    name,
    report,
    receivedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + maxAgeMs).toISOString(),
  },
});
