import { readFileSync, statSync } from 'node:fs';
import { normalizeSerial, revokedSerials } from './crl';

// As the newest reference (middlewares/v1/crl.go): look at the file at most every 5 s, re-read it when its size or
// modification time changed, and keep the last good list when the new file cannot be read.
export const CRL_RECHECK_MS = 5_000;

/** A CRL file, re-read when it changes, so a revocation applies within seconds without a restart. */
export class CrlFile {
  private serials: Set<string>;
  private stamp: string;
  private checkedAt: number;

  /** Reads the file now: a CRL that cannot be read stops start-up (the caller names the variable). */
  constructor(
    readonly path: string,
    private readonly onReloadError: (message: string) => void,
    private readonly recheckMs = CRL_RECHECK_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.stamp = this.stat();
    this.serials = revokedSerials(readFileSync(path));
    this.checkedAt = this.now();
  }

  isRevoked(serialNumber: string): boolean {
    this.refresh();
    return this.serials.has(normalizeSerial(serialNumber));
  }

  private stat(): string {
    const s = statSync(this.path);
    return `${s.size}:${s.mtimeMs}`;
  }

  private refresh(): void {
    if (this.now() - this.checkedAt < this.recheckMs) {
      return;
    }
    this.checkedAt = this.now();
    try {
      const stamp = this.stat();
      if (stamp !== this.stamp) {
        this.serials = revokedSerials(readFileSync(this.path));
        this.stamp = stamp;
      }
    } catch (error) {
      this.onReloadError(
        `CRL ${this.path}: ${error instanceof Error ? error.message : String(error)}; still using the last one read`,
      );
    }
  }
}
