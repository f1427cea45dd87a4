import { positionOwner } from '@lapi/domain/bouncers/bouncer';

// How often the noted lookup times are written: a bouncer's last pull, read by listings and autodelete, which count
// in hours and days; the reference too moves last_pull at most once a minute on lookups (decisions.go GetDecision).
export const LOOKUP_FLUSH_EVERY_MS = 60_000;

/** Writes lookup times (position key → epoch ms), keeping the later of each and what is stored, in one round trip. */
export type LookupTimesWriter = (times: ReadonlyMap<string, number>) => Promise<void>;

/**
 * When each bouncer process last looked decisions up (GET /v1/decisions), or in a cluster polled its stream with
 * nothing new (such a poll saves no position), by stream position key. A lookup writes
 * nothing: its time is noted here, and the times noted are written together once a minute (and at close).
 */
export class LookupTimes {
  private noted = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly write: LookupTimesWriter,
    private readonly everyMs = LOOKUP_FLUSH_EVERY_MS,
  ) {}

  note(key: string, at: number): void {
    if ((this.noted.get(key) ?? -Infinity) < at) {
      this.noted.set(key, at);
    }
    this.timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.everyMs).unref();
  }

  /** A deleted bouncer's noted times are not written (they would bring its rows back). */
  forget(bouncer: string): void {
    for (const key of this.noted.keys()) {
      if (positionOwner(key) === bouncer) {
        this.noted.delete(key);
      }
    }
  }

  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const times = this.noted;
    if (times.size === 0) {
      return;
    }
    this.noted = new Map();
    await this.write(times);
  }

  close(): Promise<void> {
    return this.flush();
  }
}
