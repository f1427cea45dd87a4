import type { AlertInput } from '@lapi/domain';
import type { AlertFilter, AlertView } from '@lapi/read-models';
import { Command, Query } from '@nestjs/cqrs';
import type { CommandContext } from '../shared/ports';

/** Stores pushed alerts (profiles decide for those without decisions); resolves with their ids, in order. */
export class PushAlerts extends Command<string[]> {
  constructor(
    readonly machineId: string,
    readonly alerts: readonly AlertInput[],
    readonly context: CommandContext,
  ) {
    super();
  }
}

/** Deletes the alerts a filter selects, with their decisions; resolves with how many. */
export class DeleteAlerts extends Command<number> {
  constructor(
    readonly filter: AlertFilter,
    readonly context: CommandContext,
  ) {
    super();
  }
}

export class DeleteAlert extends Command<number> {
  constructor(
    readonly alertId: number,
    readonly context: CommandContext,
  ) {
    super();
  }
}

export class SearchAlerts extends Query<AlertView[]> {
  constructor(
    readonly filter: AlertFilter,
    readonly options: { limit: number; sort: 'ASC' | 'DESC'; withDecisions: boolean },
  ) {
    super();
  }
}

export class GetAlert extends Query<AlertView | null> {
  constructor(readonly alertId: number) {
    super();
  }
}
