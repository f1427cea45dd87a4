import {
  USAGE_METRICS_EVENT_TYPES,
  type UsageComponentKind,
  type UsageMetricsReceived,
  type UsageReport,
} from '@lapi/domain/usage-metrics/usage-metrics';
import type { DB, InlineProjection, RecordedEvent } from '@lapi/event-store';
import { sql, type Kysely, type Transaction } from 'kysely';
import { iso } from '../machines/machines.projection';

/**
 * Keeps `usage_metrics`: a row per report received, until it expires. Each report also removes the reports expired
 * at its time (the reference's metrics_max_age flush), so the table stays bounded without a job, and a rebuild from
 * the log ends with the same rows.
 */
export const usageMetricsProjection: InlineProjection = {
  name: 'usage-metrics',
  eventTypes: USAGE_METRICS_EVENT_TYPES,
  async apply(trx: Transaction<DB>, events: readonly RecordedEvent[]): Promise<void> {
    const received = events as readonly RecordedEvent<UsageMetricsReceived>[];
    await trx
      .insertInto('usage_metrics')
      .values(
        received.map(({ data }) => ({
          kind: data.kind,
          name: data.name,
          received_at: data.receivedAt,
          expires_at: data.expiresAt,
          // Sent as text and cast: postgres.js would JSON-encode a string given for a jsonb parameter once more.
          report: sql<string>`cast(${JSON.stringify(data.report)} as text)::jsonb`,
        })),
      )
      .execute();
    const latest = received
      .map((e) => e.data.receivedAt)
      .sort()
      .at(-1)!;
    await trx.deleteFrom('usage_metrics').where('expires_at', '<=', new Date(latest)).execute();
  },
};

/** A stored report and who sent it. */
export interface StoredUsageReport {
  readonly kind: UsageComponentKind;
  readonly name: string;
  readonly receivedAt: string;
  readonly report: UsageReport;
}

// Kept reports per component are bounded by metrics_max_age and the senders' pace (one per 15–30 min); this bounds a
// listing against a client that reports far more often than that.
export const MAX_LISTED_REPORTS = 10_000;

/** The reports not expired at `now`, oldest first (the newest MAX_LISTED_REPORTS of them). */
export async function listUsageReports(db: Kysely<DB>, now: Date): Promise<StoredUsageReport[]> {
  const rows = await db
    .selectFrom('usage_metrics')
    .select(['id', 'kind', 'name', 'received_at', 'report'])
    .where('expires_at', '>', now)
    .orderBy('id', 'desc')
    .limit(MAX_LISTED_REPORTS)
    .execute();
  return rows.reverse().map(toStored);
}

/** The newest report of each component not expired at `now`. */
export async function latestUsageReports(db: Kysely<DB>, now: Date): Promise<StoredUsageReport[]> {
  const rows = await db
    .selectFrom('usage_metrics')
    .distinctOn(['kind', 'name'])
    .select(['id', 'kind', 'name', 'received_at', 'report'])
    .where('expires_at', '>', now)
    .orderBy('kind')
    .orderBy('name')
    .orderBy('received_at', 'desc')
    .orderBy('id', 'desc')
    .execute();
  return rows.map(toStored);
}

const toStored = (row: { kind: string; name: string; received_at: Date; report: unknown }): StoredUsageReport => ({
  kind: row.kind === 'machine' ? 'machine' : 'bouncer',
  name: row.name,
  receivedAt: iso(row.received_at),
  report: row.report as UsageReport,
});
