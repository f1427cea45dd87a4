import type { Machine } from '@lapi/domain';
import { Command, Query } from '@nestjs/cqrs';
import type { CommandContext } from '../shared/ports';

export class RegisterMachine extends Command<void> {
  constructor(
    readonly machineId: string,
    readonly password: string,
    readonly ipAddress: string,
    /** Machines an admin adds are validated at once; agents that register themselves wait. */
    readonly validated: boolean,
    readonly context: CommandContext,
  ) {
    super();
  }
}

export class ValidateMachine extends Command<void> {
  constructor(
    readonly machineId: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}

/** Checks credentials and records the login; resolves with the machine id the token is for. */
export class LogInMachine extends Command<string> {
  constructor(
    readonly machineId: string,
    readonly password: string,
    readonly scenarios: readonly string[] | null,
    readonly ipAddress: string,
    readonly userAgent: string | undefined,
    readonly context: CommandContext,
  ) {
    super();
  }
}

/** Logs in the machine of an accepted client certificate (`<CN>@<IP>`), created on first use; resolves with its id. */
export class LogInMachineWithCertificate extends Command<string> {
  constructor(
    readonly machineId: string,
    readonly scenarios: readonly string[] | null,
    readonly ipAddress: string,
    readonly userAgent: string | undefined,
    readonly context: CommandContext,
  ) {
    super();
  }
}

export class RecordHeartbeat extends Command<void> {
  constructor(
    readonly machineId: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}

export class DeleteMachine extends Command<void> {
  constructor(
    readonly machineId: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}

export class ListMachines extends Query<Machine[]> {}

/** The machine as stored now, or null: whether a token issued for it is still honoured. */
export class FindMachine extends Query<Machine | null> {
  constructor(readonly machineId: string) {
    super();
  }
}
