import { EVENT_STORE, PostgresEventStore, type DatabaseHandle } from '@lapi/event-store';
import { bouncersProjection, machinesProjection } from '@lapi/projections';
import { Module, type DynamicModule } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { bouncerHandlers } from './bouncers/bouncer.handlers';
import { machineHandlers } from './machines/machine.handlers';
import { CLOCK, DATABASE, systemClock, type Clock } from './shared/ports';

/** Inline projections: read models that commit with the events they follow. */
export const inlineProjections = [machinesProjection, bouncersProjection];

/** Commands and queries shared by the API and the admin CLI, over an open database. */
@Module({})
export class ApplicationModule {
  static register(options: { database: DatabaseHandle; clock?: Clock }): DynamicModule {
    return {
      module: ApplicationModule,
      global: true,
      imports: [CqrsModule.forRoot()],
      providers: [
        { provide: DATABASE, useValue: options.database },
        { provide: CLOCK, useValue: options.clock ?? systemClock },
        { provide: EVENT_STORE, useValue: new PostgresEventStore(options.database.db, inlineProjections) },
        ...machineHandlers,
        ...bouncerHandlers,
      ],
      exports: [DATABASE, CLOCK, EVENT_STORE, CqrsModule],
    };
  }
}
