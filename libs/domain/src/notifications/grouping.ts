// When a plugin's queued alerts are delivered, and in which batches: the rule of the reference's current broker
// (pkg/csplugin/watcher.go watchPluginTicker since 1.7.7, and the chunking of broker.go Run since 1.5.3).
//
//   - neither group_wait nor group_threshold: every alert is delivered, one alert per notification;
//   - group_threshold only: nothing until that many alerts are queued, then all of them; alerts below the
//     threshold wait for more, however long (the reference has no timeout for them either);
//   - group_wait only: all queued alerts once group_wait has passed since the previous delivery;
//   - both: whichever comes first.
// A delivery takes every queued alert and splits it into notifications of at most group_threshold alerts
// (one alert each when group_threshold is unset, even with group_wait: the reference does exactly that).
//
// The reference checks once a second (once per group_wait when only that is set); this function is exact, so
// deliveries may come up to a second earlier. 1.4.6 differed: one notification with every queued alert, a
// group_wait-only plugin flushed on a fixed ticker, and a count flush did not restart the group_wait clock.

export interface QueuedAlert<T> {
  readonly item: T;
  readonly enqueuedAt: Date;
}

export interface PluginQueue<T> {
  /** In the order the alerts were queued. */
  readonly entries: readonly QueuedAlert<T>[];
  /**
   * The previous delivery of this plugin. null before the first one: the oldest queued alert's time stands in for
   * the reference's broker start, so a first alert waits group_wait.
   */
  readonly lastFlushAt: Date | null;
}

export interface GroupingPolicy {
  /** 0 when unset. */
  readonly groupWaitMs: number;
  /** 0 when unset. */
  readonly groupThreshold: number;
}

export interface DueBatches<T> {
  /** One notification each, in order; empty when nothing is due. */
  readonly batches: readonly (readonly QueuedAlert<T>[])[];
  /** What stays queued. */
  readonly remaining: readonly QueuedAlert<T>[];
  /** The queue's new lastFlushAt: `now` when something was delivered. */
  readonly lastFlushAt: Date | null;
  /** When to call again if no alert is queued meanwhile; undefined when only a new alert can make a batch due. */
  readonly nextCheckAt?: Date;
}

/**
 * What to deliver now. Call it whenever an alert is queued and at `nextCheckAt`.
 *
 * @example
 * const due = dueBatches({ entries, lastFlushAt }, config, clock.now());
 * due.batches.forEach(deliver); save(due.remaining, due.lastFlushAt); schedule(due.nextCheckAt);
 */
export function dueBatches<T>(queue: PluginQueue<T>, policy: GroupingPolicy, now: Date): DueBatches<T> {
  const { entries, lastFlushAt } = queue;
  const { groupWaitMs, groupThreshold } = policy;
  if (entries.length === 0) {
    return { batches: [], remaining: [], lastFlushAt };
  }
  const since = lastFlushAt ?? entries[0].enqueuedAt;
  const noneConfigured = groupWaitMs === 0 && groupThreshold === 0;
  const byCount = groupThreshold > 0 && entries.length >= groupThreshold;
  const byTime = groupWaitMs > 0 && now.getTime() - since.getTime() >= groupWaitMs;
  if (noneConfigured || byCount || byTime) {
    return { batches: chunks(entries, groupThreshold === 0 ? 1 : groupThreshold), remaining: [], lastFlushAt: now };
  }
  return {
    batches: [],
    remaining: entries,
    lastFlushAt,
    ...(groupWaitMs > 0 && { nextCheckAt: new Date(since.getTime() + groupWaitMs) }),
  };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}
