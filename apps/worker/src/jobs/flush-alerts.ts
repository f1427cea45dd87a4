import { flushAlerts, type FlushResult, type RetentionDeps } from '@lapi/application';
import { formatGoDuration, NANOS_PER_MS, type FlushPolicy } from '@lapi/domain';
import type { Lease } from '@lapi/read-models';
import type { Logger } from '@nestjs/common';
import { runExclusive } from './exclusive';

/** The flush of alerts (the reference's FlushAlerts, every minute), by one worker at a time. */
export async function flushAlertsJob(
  lease: Lease,
  deps: RetentionDeps,
  policy: FlushPolicy,
  now: Date,
  logger: Pick<Logger, 'log' | 'debug'>,
): Promise<FlushResult | null> {
  const result = await runExclusive(lease, (stillLeader) => flushAlerts({ ...deps, stillLeader }, policy, now));
  if (result === null) {
    logger.debug('another worker is flushing alerts');
    return null;
  }
  // The reference's messages, without its total (a count of every alert each minute).
  if (result.byCount > 0) {
    logger.log(
      `flushed ${result.byCount} alerts because the max number of alerts has been reached (${policy.maxItems} max)`,
    );
  }
  if (result.byAge > 0 && policy.maxAgeMs !== undefined) {
    const age = formatGoDuration(BigInt(policy.maxAgeMs) * NANOS_PER_MS);
    logger.log(`flushed ${result.byAge} alerts because they were created ${age} ago or more`);
  }
  return result;
}
