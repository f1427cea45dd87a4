import { z } from 'zod';

// models.AllMetrics and friends (localapi_swagger.yaml, reference ≥1.6.3). The swagger bounds strings at 255; the
// counts are ours: nothing a client sends may cost unbounded memory or CPU, and a real report is far below them
// (a firewall bouncer: a few items per origin; an agent: its installed hub items and datasources).
export const USAGE_METRICS_LIMITS = {
  /** Metrics blocks (time windows) per component. */
  blocks: 100,
  /** Items per metrics block. */
  items: 1_000,
  /** Labels per item, datasources, feature flags, console options, hub item types. */
  keys: 64,
  /** Hub items of one type (parsers, scenarios…). */
  hubItems: 2_000,
} as const;

const text = z.string().max(255);
const int64 = z.number().int();

const osVersion = z.object({ name: text, family: text.optional(), version: text });

const metricsItem = z.object({
  name: text,
  value: z.number(),
  unit: text,
  labels: z
    .record(z.string().max(255), text)
    .refine((labels) => Object.keys(labels).length <= USAGE_METRICS_LIMITS.keys, {
      message: `should have at most ${USAGE_METRICS_LIMITS.keys} labels`,
    })
    .nullish(),
});

const detailedMetrics = z.object({
  items: z.array(metricsItem).max(USAGE_METRICS_LIMITS.items),
  meta: z.object({ window_size_seconds: int64, utc_now_timestamp: int64 }),
});

const baseMetrics = {
  version: text,
  os: osVersion.nullish(),
  metrics: z.array(detailedMetrics).max(USAGE_METRICS_LIMITS.blocks).nullish(),
  feature_flags: z.array(text).max(USAGE_METRICS_LIMITS.keys).nullish(),
  utc_startup_timestamp: int64,
};

const boundedKeys = <T extends z.ZodTypeAny>(value: T) =>
  z.record(z.string().max(255), value).refine((r) => Object.keys(r).length <= USAGE_METRICS_LIMITS.keys, {
    message: `should have at most ${USAGE_METRICS_LIMITS.keys} keys`,
  });

const hubItem = z.object({ name: text.nullish(), version: text.nullish(), status: text.nullish() });

export const remediationComponentMetrics = z.object({
  ...baseMetrics,
  type: text.nullish(),
  name: text.nullish(),
  last_pull: int64.nullish(),
});

export const logProcessorMetrics = z.object({
  ...baseMetrics,
  hub_items: boundedKeys(z.array(hubItem).max(USAGE_METRICS_LIMITS.hubItems)),
  datasources: boundedKeys(int64),
  name: text.nullish(),
  last_push: int64.nullish(),
  last_update: int64.nullish(),
  console_options: z.array(text).max(USAGE_METRICS_LIMITS.keys).nullish(),
});

// More than one item in a section is the reference's 400, decided after validation: bounded here all the same.
export const usageMetricsRequest = z.object({
  remediation_components: z.array(remediationComponentMetrics).max(USAGE_METRICS_LIMITS.keys).nullish(),
  log_processors: z.array(logProcessorMetrics).max(USAGE_METRICS_LIMITS.keys).nullish(),
  lapi: z.unknown().optional(),
});

export type UsageMetricsRequest = z.infer<typeof usageMetricsRequest>;
export type RemediationComponentMetrics = z.infer<typeof remediationComponentMetrics>;
export type LogProcessorMetrics = z.infer<typeof logProcessorMetrics>;
export type DetailedMetrics = z.infer<typeof detailedMetrics>;
