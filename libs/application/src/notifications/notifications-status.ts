import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { SqlNotificationQueue, type DeadNotification, type PluginStatus } from '@lapi/projections';
import { Inject } from '@nestjs/common';
import { Query, QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CLOCK, DATABASE, type Clock } from '../shared/ports';

/** `lapi notifications status`, the same in every mode. */
export interface NotificationsStatus {
  /** Who feeds the queues from the log, and how many events it has not read yet. */
  readonly owner: string | null;
  readonly lag: number | null;
  /** Deliveries by state: waiting, delayed (a retry's back-off), active, failed. */
  readonly jobs: Record<string, number>;
  readonly plugins: PluginStatus[];
  /** Newest first. */
  readonly deadLetters: DeadNotification[];
  /** The signed decisions webhook, when one is configured (cluster mode). */
  readonly webhook: WebhookStatus | null;
}

export interface WebhookStatus {
  readonly url: string;
  readonly owner: string | null;
  /** Last change delivered, and the change log's last: their difference is what the receiver has not got yet. */
  readonly delivered: number;
  readonly head: number;
  readonly failures: number;
  readonly lastError: string | null;
  readonly lastDeliveryAt: string | null;
}

/** The notification pipeline kept in the database (embedded and PostgreSQL-only mode). */
export class GetNotificationsStatus extends Query<NotificationsStatus> {
  constructor(readonly deadLimit: number) {
    super();
  }
}

@QueryHandler(GetNotificationsStatus)
export class GetNotificationsStatusHandler implements IQueryHandler<GetNotificationsStatus> {
  constructor(
    @Inject(DATABASE) private readonly database: DatabaseHandle,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(q: GetNotificationsStatus): Promise<NotificationsStatus> {
    const queue = new SqlNotificationQueue(this.database.db, this.store);
    const now = this.clock.now().getTime();
    const checkpoint = await queue.storedCheckpoint();
    const counts = await queue.deliveryCounts(now);
    return {
      owner: await queue.owner(now),
      lag: checkpoint ? await this.store.countAfter(checkpoint) : null,
      jobs: { ...counts },
      plugins: await Promise.all((await queue.plugins()).map((p) => queue.status(p))),
      deadLetters: await queue.deadLetters(q.deadLimit),
      webhook: null,
    };
  }
}
