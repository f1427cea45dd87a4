import { setBounded } from './expiring-cache';

/**
 * What this replica last recorded of each bouncer (address, user agent, when), so that a poll that changes nothing
 * the bouncer's record shows skips the command entirely: no aggregate load, no write. The domain still decides
 * whenever the command runs; a stale entry (another replica recorded since) only delays a recording, never loses
 * a change of address or version, which always runs the command.
 */
export class SightingMemo {
  private readonly seen = new Map<string, { ip: string; userAgent: string; at: number }>();

  constructor(
    /** How long an unchanged sighting is skipped (then it runs again: a read, and a write only if due). */
    private readonly recheckMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  /** True when recording this sighting could change nothing the domain keeps. */
  unchanged(bouncer: string, ip: string, userAgent: string, now: number): boolean {
    const last = this.seen.get(bouncer);
    return last !== undefined && last.ip === ip && last.userAgent === userAgent && now - last.at < this.recheckMs;
  }

  recorded(bouncer: string, ip: string, userAgent: string, now: number): void {
    setBounded(this.seen, bouncer, { ip, userAgent, at: now }, this.maxEntries);
  }
}
