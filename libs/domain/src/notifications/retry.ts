// How a failed delivery is retried: the reference's current broker (pkg/csplugin/backoff.go, since 1.7.4), which
// runs github.com/cenkalti/backoff/v5's Retry with an exponential back-off of 1s × 2ⁿ, ±30 % jitter, capped at
// 30s between attempts. With max_retry set, at most max_retry retries after the first attempt (and the library's
// 15-minute limit still applies); unset or 0, retries go on while the next one would start within 5 minutes of
// the first attempt. Each attempt is cut after `timeout` (default 5s).
//
// What counts as a failure is the http plugin's (cmd/notification-http/main.go): an error of the request itself
// (connection, TLS, timeout). An answer outside 2xx is logged by the plugin as a warning and is NOT a failure, so it
// is not retried.
//
// 1.4.6 differed: max_retry attempts in all (1 when unset), 1s, 2s, 4s … between them without jitter or cap.

export const NOTIFY_BACKOFF = {
  initialIntervalMs: 1_000,
  multiplier: 2,
  randomizationFactor: 0.3,
  maxIntervalMs: 30_000,
  /** csplugin's defaultMaxElapsedTime, used when max_retry is unset. */
  maxElapsedMsWithoutMaxRetry: 5 * 60_000,
  /** backoff/v5's DefaultMaxElapsedTime, which WithMaxTries does not lift. */
  maxElapsedMsWithMaxRetry: 15 * 60_000,
} as const;

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | { readonly retry: false; readonly reason: 'max-retry' | 'max-elapsed' };

/**
 * After `failedAttempts` failed attempts (1 after the first), whether to try again and after how long.
 *
 * @param elapsedMs time since the first attempt started, now
 * @param random a draw in [0, 1) for the jitter (Math.random() outside tests)
 */
export function nextRetry(
  failedAttempts: number,
  policy: { readonly maxRetry: number },
  elapsedMs: number,
  random: number,
): RetryDecision {
  if (policy.maxRetry > 0 && failedAttempts >= policy.maxRetry + 1) {
    return { retry: false, reason: 'max-retry' };
  }
  const delayMs = backoffDelayMs(failedAttempts, random);
  const limit =
    policy.maxRetry > 0 ? NOTIFY_BACKOFF.maxElapsedMsWithMaxRetry : NOTIFY_BACKOFF.maxElapsedMsWithoutMaxRetry;
  if (elapsedMs + delayMs > limit) {
    return { retry: false, reason: 'max-elapsed' };
  }
  return { retry: true, delayMs };
}

/** ExponentialBackOff.NextBackOff for the n-th retry (1-based), in milliseconds with nanosecond precision. */
export function backoffDelayMs(retry: number, random: number): number {
  const { initialIntervalMs, multiplier, randomizationFactor, maxIntervalMs } = NOTIFY_BACKOFF;
  let interval = initialIntervalMs * 1e6; // in ns, as time.Duration
  for (let i = 1; i < retry; i++) {
    interval = interval >= (maxIntervalMs * 1e6) / multiplier ? maxIntervalMs * 1e6 : interval * multiplier;
  }
  // getRandomValueFromInterval: min + random × (max − min + 1), truncated to whole nanoseconds.
  const delta = randomizationFactor * interval;
  const min = interval - delta;
  const max = interval + delta;
  return Math.trunc(min + random * (max - min + 1)) / 1e6;
}
