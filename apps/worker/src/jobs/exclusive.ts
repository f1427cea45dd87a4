import type { Lease } from '@lapi/read-models';

/**
 * Runs `run` only while holding the lease: a job scheduler gives one job per tick, but a run longer than the tick
 * could overlap the next one on another worker. `stillLeader` renews the lease and says whether it is still ours;
 * runs call it before every write. Null when another run holds the lease.
 */
export async function runExclusive<T>(
  lease: Lease,
  run: (stillLeader: () => Promise<boolean>) => Promise<T>,
): Promise<T | null> {
  if (!(await lease.acquire())) {
    return null;
  }
  try {
    return await run(() => lease.acquire());
  } finally {
    await lease.release();
  }
}
