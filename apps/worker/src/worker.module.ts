import { ApplicationModule } from '@lapi/application';
import type { DatabaseHandle } from '@lapi/event-store';
import { Module, type DynamicModule } from '@nestjs/common';

/**
 * Background work over the same command handlers as the API. It holds no processors yet: expiry, fan-out and
 * retention arrive with the cluster issue, each registered here as one BullMQ processor per job kind.
 */
@Module({})
export class WorkerModule {
  static register(options: { database: DatabaseHandle }): DynamicModule {
    return { module: WorkerModule, imports: [ApplicationModule.register({ database: options.database })] };
  }
}
