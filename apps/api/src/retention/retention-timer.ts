import {
  autodeleteClients,
  CLOCK,
  CREDENTIAL_CHANGES,
  DATABASE,
  DECISION_READER,
  flushAlerts,
  PROJECTION_BARRIER,
  RETENTION_POLICY,
  type Clock,
  type CredentialChanges,
  type DecisionReader,
  type ProjectionBarrier,
  type RetentionDeps,
  type RetentionPolicy,
} from '@lapi/application';
import { autodeleteEnabled, flushEnabled } from '@lapi/domain';
import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';

// The reference's flush scheduler runs both jobs every minute (database/flush.go).
export const RETENTION_EVERY_MS = 60_000;

/**
 * Without Redis there is no worker: the API process runs the retention itself, as the reference's LAPI does, one
 * run at a time (gocron's singleton mode); each batch waits for the in-memory decisions index to apply it.
 */
@Injectable()
export class RetentionTimer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Retention');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(RETENTION_POLICY) private readonly policy: RetentionPolicy,
    @Inject(CREDENTIAL_CHANGES) private readonly credentials: CredentialChanges,
    @Inject(PROJECTION_BARRIER) private readonly barrier: ProjectionBarrier,
    @Inject(DECISION_READER) private readonly reader: DecisionReader,
  ) {}

  onApplicationBootstrap(): void {
    if (!flushEnabled(this.policy.flush) && !autodeleteEnabled(this.policy.autodelete)) {
      return;
    }
    this.timer = setInterval(() => void this.tick(), RETENTION_EVERY_MS);
    this.timer.unref();
    void this.tick();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One run of both jobs; skipped while the previous one is still going. */
  tick(): Promise<void> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    const deps: RetentionDeps = {
      database: this.database,
      store: this.store,
      barrier: this.barrier,
      credentials: this.credentials,
    };
    try {
      if (flushEnabled(this.policy.flush)) {
        const r = await flushAlerts(deps, this.policy.flush, this.clock.now());
        if (r.byAge + r.byCount > 0) {
          this.logger.log(`flushed ${r.byAge} alerts past max age and ${r.byCount} over the max number of alerts`);
        }
      }
      if (autodeleteEnabled(this.policy.autodelete)) {
        // Bouncers' last pulls as they are now: the positions and lookup times still held in memory first.
        await this.reader.flushPullTimes();
        const r = await autodeleteClients(deps, this.policy.autodelete, this.clock.now());
        if (r.machines.length + r.bouncers.length > 0) {
          this.logger.log(
            `deleted expired machines [${r.machines.join(', ')}] and bouncers [${r.bouncers.join(', ')}]`,
          );
        }
      }
    } catch (error) {
      // The next tick tries again, as the reference's scheduler does after a failed run.
      this.logger.warn(`retention run failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
