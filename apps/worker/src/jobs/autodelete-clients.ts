import { autodeleteClients, type AutodeleteResult, type RetentionDeps } from '@lapi/application';
import type { AutodeletePolicy } from '@lapi/domain';
import type { Lease } from '@lapi/read-models';
import type { Logger } from '@nestjs/common';
import { runExclusive } from './exclusive';

/** The autodelete of silent machines and bouncers (the reference's FlushAgentsAndBouncers), by one worker at a time. */
export async function autodeleteClientsJob(
  lease: Lease,
  deps: RetentionDeps,
  policy: AutodeletePolicy,
  now: Date,
  logger: Pick<Logger, 'log' | 'debug'>,
): Promise<AutodeleteResult | null> {
  const result = await runExclusive(lease, (stillLeader) => autodeleteClients({ ...deps, stillLeader }, policy, now));
  if (result === null) {
    logger.debug('another worker is deleting silent machines and bouncers');
    return null;
  }
  if (result.machines.length > 0) {
    logger.log(`deleted ${result.machines.length} expired machines: ${result.machines.join(', ')}`);
  }
  if (result.bouncers.length > 0) {
    logger.log(`deleted ${result.bouncers.length} expired bouncers: ${result.bouncers.join(', ')}`);
  }
  return result;
}
