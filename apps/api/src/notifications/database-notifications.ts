import {
  deliverNotification,
  dispatchNotifications,
  RetryLater,
  sendHttpNotification,
  type SendNotification,
} from '@lapi/application';
import type { HttpNotificationConfig } from '@lapi/domain';
import { PostgresEventStore, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import {
  LocalLease,
  NOTIFICATION_OWNER_HEARTBEAT_MS,
  Projector,
  SqlNotificationQueue,
  type ClaimedDelivery,
  type NotificationBatch,
  type SettledDelivery,
} from '@lapi/read-models';
import { Logger } from '@nestjs/common';
import { hostname } from 'node:os';

// The reference's broker looks at its queues once a second: so does an idle pipeline. While alerts come in or
// deliveries are under way, as the workers: 4 times a second.
const IDLE_TICK_MS = 1_000;
const BUSY_TICK_MS = 250;
const DELIVERY_CONCURRENCY = 16;
// How long a claim keeps other processes off a delivery: well beyond any attempt (cut at the config's timeout).
const CLAIM_MARGIN_MS = 30_000;

export interface DatabaseNotificationsOptions {
  readonly now?: () => number;
  readonly random?: () => number;
  readonly send?: SendNotification;
  readonly tickMs?: number;
  /** Who this process is, in the claims and the status. */
  readonly id?: string;
}

/**
 * Profile notifications without Redis (embedded and PostgreSQL-only mode), run in the API process: the cluster's
 * pipeline with its queues in the database. Each tick follows the log into the per-plugin queues (checkpoint
 * compare-and-set), groups what is due into deliveries (one process at a time: an advisory lock), and sends the
 * due deliveries it claims, retried with the reference's back-off and dead-lettered as in the workers.
 */
export class DatabaseNotifications {
  private readonly logger = new Logger('Notifications');
  private readonly queue: SqlNotificationQueue;
  private readonly projector: Projector;
  private readonly now: () => number;
  private readonly id: string;
  private readonly claimMs: number;
  private readonly inFlight = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private lastHeartbeat = 0;
  private warned = false;
  private claiming: Promise<void> | undefined;
  private moreDue = false;
  /** Deliveries ended and not yet recorded, and the flush recording them. */
  private readonly settling: {
    outcome: SettledDelivery;
    resolve: () => void;
    reject: (error: Error) => void;
  }[] = [];
  private flushing: Promise<void> | undefined;
  /** Whether the last tick had work: the next comes sooner. */
  private busy = false;
  /** When the soonest retry this process scheduled is due (ms). */
  private retryAt = 0;

  constructor(
    private readonly database: DatabaseHandle,
    store: EventStore,
    private readonly configs: ReadonlyMap<string, HttpNotificationConfig>,
    private readonly options: DatabaseNotificationsOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.id = options.id ?? `${hostname()}:${process.pid}`;
    this.queue = new SqlNotificationQueue(database.db, store, this.now);
    this.projector = new Projector(store, this.queue, new LocalLease(this.id));
    this.claimMs = Math.max(0, ...[...configs.values()].map((c) => c.timeoutMs)) + CLAIM_MARGIN_MS;
  }

  /**
   * Starts the pipeline (at the head of the log when it is new). Embedded mode owns its database: deliveries a
   * crash left claimed are due again at once (they may reach the receiver twice).
   */
  async start(): Promise<void> {
    await this.open();
    this.schedule();
  }

  /** What `start` does before ticking (tests call it, then drive `tick` themselves). */
  async open(): Promise<void> {
    await this.queue.checkpoint();
    if (this.database.kind === 'embedded') {
      const released = await this.queue.releaseClaims(this.now());
      if (released > 0) {
        this.logger.warn(`${released} notification deliveries interrupted by the last stop: sending them again`);
      }
    }
  }

  /** One round: log → queues → deliveries → sends started (not awaited: see `idle`). */
  async tick(): Promise<void> {
    this.busy = await this.projectAndDispatch();
    if (!this.stopped) {
      await this.sendDue();
    }
    this.busy ||= this.inFlight.size > 0;
  }

  /** Follows the log into the plugin queues, and turns their due groups into deliveries; true when any came. */
  async projectAndDispatch(): Promise<boolean> {
    const applied = await this.projector.catchUp();
    const now = this.now();
    if (now - this.lastHeartbeat >= NOTIFICATION_OWNER_HEARTBEAT_MS) {
      this.lastHeartbeat = now;
      await this.queue.heartbeat(this.id, now);
    }
    if (!(await this.queue.anyQueued())) {
      return applied > 0;
    }
    await this.queue.exclusive(async (queue) => {
      // Added in one statement at the end: the same transaction as the queues' trims.
      const deliveries: { id: string; data: NotificationBatch }[] = [];
      await dispatchNotifications(
        queue,
        this.configs,
        (id, data) => Promise.resolve(void deliveries.push({ id, data })),
        now,
      );
      await queue.addDeliveries(deliveries, now);
    });
    return true;
  }

  /**
   * Claims the due deliveries this process has room for, and starts sending them. While claims come back full, each
   * finished send claims again at once rather than at the next tick.
   */
  sendDue(): Promise<void> {
    if (this.claiming === undefined && !this.stopped) {
      this.claiming = this.claimAndSend().finally(() => (this.claiming = undefined));
    }
    return this.claiming ?? Promise.resolve();
  }

  private async claimAndSend(): Promise<void> {
    const room = DELIVERY_CONCURRENCY - this.inFlight.size;
    const claimed = await this.queue.claim(this.id, room, this.now(), this.claimMs);
    this.moreDue = room > 0 && claimed.length === room;
    for (const delivery of claimed) {
      const sending = this.deliver(delivery).finally(() => {
        this.inFlight.delete(sending);
        if (this.moreDue) {
          this.sendDue().catch(() => undefined); // the next tick tries again
        }
      });
      this.inFlight.add(sending);
    }
  }

  /** Resolves once the sends started so far (and those they started) are done. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.claiming !== undefined) {
      await Promise.all([...this.inFlight, this.claiming?.catch(() => undefined)]);
    }
  }

  /** Stops claiming; the sends in flight finish (each is cut at its config's timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.idle();
  }

  private schedule(): void {
    if (this.stopped) {
      return;
    }
    this.timer = setTimeout(() => {
      this.running = this.tick().then(
        () => {
          this.warned = false;
        },
        (error: Error) => {
          if (!this.warned) {
            this.warned = true; // one line per outage
            this.logger.warn(`notifications: ${error.message}; retrying`);
          }
        },
      );
      void this.running.finally(() => this.schedule());
    }, this.options.tickMs ?? this.nextTickMs());
    this.timer.unref();
  }

  /**
   * Records a delivery's end with the others that ended meanwhile (one commit for the lot: PGlite syncs each).
   * Resolves once committed; a crash before that leaves the row to be claimed again (sent twice, never lost).
   */
  private settle(outcome: SettledDelivery): Promise<void> {
    return new Promise((resolve, reject) => {
      this.settling.push({ outcome, resolve, reject });
      this.flushing ??= this.flushSettled().finally(() => (this.flushing = undefined));
    });
  }

  private async flushSettled(): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve)); // let the sends finishing in this turn join
    while (this.settling.length > 0) {
      const batch = this.settling.splice(0);
      try {
        await this.queue.settle(
          this.id,
          batch.map((b) => b.outcome),
        );
        batch.forEach((b) => b.resolve());
      } catch (error) {
        batch.forEach((b) => b.reject(error as Error));
      }
    }
  }

  /** Soon while busy; else at the next retry this process scheduled, if it comes before the idle tick. */
  private nextTickMs(): number {
    if (this.busy) {
      return BUSY_TICK_MS;
    }
    const untilRetry = this.retryAt - this.now();
    return untilRetry > 0 ? Math.min(IDLE_TICK_MS, Math.max(BUSY_TICK_MS, untilRetry)) : IDLE_TICK_MS;
  }

  private async deliver(delivery: ClaimedDelivery): Promise<void> {
    try {
      await deliverNotification(
        delivery.data,
        { id: delivery.id, attemptsMade: delivery.attemptsMade, createdAt: delivery.createdAt },
        {
          configs: this.configs,
          queue: {
            recordDelivery: (plugin, outcome) =>
              this.settle({ kind: 'delivered', id: delivery.id, plugin, status: outcome.status, at: outcome.at }),
            recordFailure: (plugin, error, at) => this.queue.recordFailure(plugin, error, at),
            deadLetter: (dead) => this.settle({ kind: 'dead-lettered', id: delivery.id, dead }),
          },
          send: this.options.send ?? sendHttpNotification,
          now: this.now,
          random: this.options.random ?? Math.random,
        },
      );
    } catch (error) {
      if (error instanceof RetryLater) {
        const now = this.now();
        this.retryAt = this.retryAt > now ? Math.min(this.retryAt, now + error.delayMs) : now + error.delayMs;
        await this.queue.retryLater(delivery.id, this.id, error.delayMs, now).catch(() => undefined);
        return;
      }
      // The database failed while recording: the claim runs out and another round sends it again.
      this.logger.warn(`notification ${delivery.id}: ${(error as Error).message}`);
    }
  }
}

/** Starts the pipeline when some profile notifies (otherwise the log is not read for nothing), as the workers do. */
export async function startDatabaseNotifications(
  database: DatabaseHandle,
  configs: ReadonlyMap<string, HttpNotificationConfig>,
  options: DatabaseNotificationsOptions = {},
): Promise<DatabaseNotifications | undefined> {
  if (configs.size === 0) {
    return undefined;
  }
  const notifications = new DatabaseNotifications(database, new PostgresEventStore(database.db), configs, options);
  await notifications.start();
  return notifications;
}
