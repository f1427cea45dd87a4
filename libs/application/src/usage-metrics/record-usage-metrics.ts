import {
  usageMetricsReceived,
  usageMetricsStreamId,
  usageReportOf,
  type UsageComponentKind,
  type UsageSections,
} from '@lapi/domain';
import { EVENT_STORE, type EventStore } from '@lapi/event-store';
import { Inject } from '@nestjs/common';
import { Command, CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { CLOCK, toMetadata, type Clock, type CommandContext } from '../shared/ports';

/** Stores a bouncer's or machine's usage report (POST /v1/usage-metrics), kept for `maxAgeMs`. */
export class RecordUsageMetrics extends Command<void> {
  constructor(
    readonly kind: UsageComponentKind,
    readonly name: string,
    readonly sections: UsageSections,
    readonly maxAgeMs: number,
    readonly context: CommandContext,
  ) {
    super();
  }
}

@CommandHandler(RecordUsageMetrics)
export class RecordUsageMetricsHandler implements ICommandHandler<RecordUsageMetrics> {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async execute(c: RecordUsageMetrics): Promise<void> {
    const report = usageReportOf(c.kind, c.sections);
    const now = this.clock.now();
    // Reports only add up: no state to decide on, so no version to expect.
    await this.store.appendToStream(
      usageMetricsStreamId(c.kind, c.name),
      [usageMetricsReceived(c.kind, c.name, report, now, c.maxAgeMs)],
      { expectedVersion: 'any', metadata: toMetadata(c.context, now) },
    );
  }
}
