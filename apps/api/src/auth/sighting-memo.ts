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
    /** How often a pull is recorded (the domain's last-pull resolution). */
    private readonly pullResolutionMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  /** True when recording this sighting could change nothing the domain keeps. */
  unchanged(bouncer: string, ip: string, userAgent: string, pulled: boolean, now: number): boolean {
    const last = this.seen.get(bouncer);
    return (
      last !== undefined &&
      last.ip === ip &&
      last.userAgent === userAgent &&
      (!pulled || now - last.at < this.pullResolutionMs)
    );
  }

  recorded(bouncer: string, ip: string, userAgent: string, now: number): void {
    setBounded(this.seen, bouncer, { ip, userAgent, at: now }, this.maxEntries);
  }
}
