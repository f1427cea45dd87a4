// The cluster's time limits, in one place: how long a singleton's lease outlives its holder, and how long a write
// waits for the Redis projection before it answers anyway.

/** A lease not renewed for this long passes to another process (each holder renews at a third of it). */
export const LEASE_TTL_MS = {
  /** The decisions projector: short, because bouncers wait for it. */
  projector: 5_000,
  notifications: 5_000,
  webhook: 5_000,
  /** Sweeps and retention runs are minutes apart: a longer lease costs nothing and survives a slow batch. */
  expirySweep: 60_000,
  retention: 60_000,
} as const;

/** How long a write waits for the projection to apply it (read-your-writes) before it answers anyway. */
export const BARRIER_TIMEOUT_MS = {
  /** An API request: a client is waiting, so it answers and the projection catches up. */
  request: 2_000,
  /** A background job (expiry, retention): nobody waits, and the next batch needs this one applied. */
  job: 10_000,
} as const;
