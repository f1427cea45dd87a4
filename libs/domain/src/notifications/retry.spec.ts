import { backoffDelayMs, nextRetry, NOTIFY_BACKOFF } from './retry';

describe('backoffDelayMs (cenkalti/backoff/v5 ExponentialBackOff as csplugin sets it up)', () => {
  it.each([
    // retry, random, delay: 1s × 2ⁿ capped at 30s (16s ≥ 30s/2 jumps straight to 30s), ±30 %
    [1, 0.5, 1_000],
    [2, 0.5, 2_000],
    [3, 0.5, 4_000],
    [4, 0.5, 8_000],
    [5, 0.5, 16_000],
    [6, 0.5, 30_000],
    [9, 0.5, 30_000],
    [1, 0, 700],
    [3, 0, 2_800],
    [6, 0, 21_000],
    [1, 0.999999999, 1_300], // the +1 ns of getRandomValueFromInterval makes the top reachable
    [6, 0.999999999, 38_999.999983],
  ])('retry %i with random %d waits %d ms', (retry, random, delay) => {
    expect(backoffDelayMs(retry, random)).toBeCloseTo(delay, 5);
  });
});

describe('nextRetry (pkg/csplugin/backoff.go retryWithBackoff)', () => {
  it('with max_retry 3, allows three retries after the first attempt', () => {
    expect([1, 2, 3, 4].map((failed) => nextRetry(failed, { maxRetry: 3 }, 0, 0.5))).toEqual([
      { retry: true, delayMs: 1_000 },
      { retry: true, delayMs: 2_000 },
      { retry: true, delayMs: 4_000 },
      { retry: false, reason: 'max-retry' },
    ]);
  });

  it('without max_retry, stops when the next attempt would start more than 5 minutes after the first', () => {
    expect(nextRetry(1, { maxRetry: 0 }, 298_999, 0.5)).toEqual({ retry: true, delayMs: 1_000 });
    expect(nextRetry(1, { maxRetry: 0 }, 299_001, 0.5)).toEqual({ retry: false, reason: 'max-elapsed' });
    let elapsed = 0;
    let failed = 1;
    for (
      let d = nextRetry(failed, { maxRetry: 0 }, elapsed, 0.5);
      d.retry;
      d = nextRetry(++failed, { maxRetry: 0 }, elapsed, 0.5)
    ) {
      elapsed += d.delayMs;
    }
    // 1+2+4+8+16 s, then 30 s each while the total stays within 300 s: 5 + 8 retries, the 14th failure is final.
    expect(failed).toBe(14);
    expect(elapsed).toBe(271_000);
  });

  it('with max_retry, still stops at the library default of 15 minutes', () => {
    expect(nextRetry(5, { maxRetry: 1_000 }, NOTIFY_BACKOFF.maxElapsedMsWithMaxRetry - 1_000, 0.5)).toEqual({
      retry: false,
      reason: 'max-elapsed',
    });
  });
});
