import {
  couldBeMachineName,
  MachineNotFoundError,
  passwordTooLong,
  type Machine,
  type MachineCommand,
} from '@lapi/domain';
import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { listMachines, loadMachineAggregate } from '@lapi/read-models';
import { Inject } from '@nestjs/common';
import { CommandHandler, QueryHandler, type ICommandHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CREDENTIAL_CHANGES, type CredentialChanges } from '../shared/credential-changes';
import { CLOCK, DATABASE, type Clock, type CommandContext, type WriteDeps } from '../shared/ports';
import { deleteMachine, registerMachine, runMachineCommand } from './machine-writes';
import {
  DeleteMachine,
  FindMachine,
  ListMachines,
  LogInMachine,
  LogInMachineWithCertificate,
  RecordHeartbeat,
  RegisterMachine,
  ValidateMachine,
} from './machine.commands';
import { PASSWORD_HASHER, type PasswordHasher } from './password-hasher';

/** The one path every machine command takes: load the machine, decide, append. */
abstract class MachineCommandHandler implements WriteDeps {
  constructor(
    @Inject(EVENT_STORE) readonly store: EventStore,
    @Inject(DATABASE) readonly database: DatabaseHandle,
    @Inject(CLOCK) readonly clock: Clock,
  ) {}

  protected run(machineId: string, command: MachineCommand, context: CommandContext): Promise<void> {
    return runMachineCommand(this, machineId, command, context);
  }
}

@CommandHandler(RegisterMachine)
export class RegisterMachineHandler extends MachineCommandHandler implements ICommandHandler<RegisterMachine> {
  @Inject(PASSWORD_HASHER) private readonly hasher!: PasswordHasher;

  execute(c: RegisterMachine): Promise<void> {
    return registerMachine(this, this.hasher, c);
  }
}

@CommandHandler(ValidateMachine)
export class ValidateMachineHandler extends MachineCommandHandler implements ICommandHandler<ValidateMachine> {
  execute(c: ValidateMachine): Promise<void> {
    return this.run(c.machineId, { type: 'ValidateMachine', data: { machineId: c.machineId } }, c.context);
  }
}

@CommandHandler(LogInMachine)
export class LogInMachineHandler extends MachineCommandHandler implements ICommandHandler<LogInMachine> {
  @Inject(PASSWORD_HASHER) private readonly hasher!: PasswordHasher;

  async execute(c: LogInMachine): Promise<string> {
    if (!couldBeMachineName(c.machineId)) {
      throw new MachineNotFoundError(`${c.machineId.slice(0, 64)}…`);
    }
    const { state } = await loadMachineAggregate(this.database.db, c.machineId);
    // bcrypt is slow on purpose: compare once, outside the pure decision, then let decide() order the checks.
    // Past 72 bytes bcrypt would compare only the start: such a password matches nothing.
    const matches =
      state !== null && !passwordTooLong(c.password) && (await this.hasher.matches(c.password, state.passwordHash));
    await this.run(
      c.machineId,
      {
        type: 'LogIn',
        data: {
          machineId: c.machineId,
          passwordMatches: matches,
          ipAddress: c.ipAddress,
          userAgent: c.userAgent,
          scenarios: c.scenarios,
        },
      },
      c.context,
    );
    return c.machineId;
  }
}

@CommandHandler(LogInMachineWithCertificate)
export class LogInMachineWithCertificateHandler
  extends MachineCommandHandler
  implements ICommandHandler<LogInMachineWithCertificate>
{
  async execute(c: LogInMachineWithCertificate): Promise<string> {
    const { machineId, ipAddress, userAgent, scenarios } = c;
    await this.run(
      machineId,
      { type: 'LogInWithCertificate', data: { machineId, ipAddress, userAgent, scenarios } },
      c.context,
    );
    return machineId;
  }
}

@CommandHandler(RecordHeartbeat)
export class RecordHeartbeatHandler extends MachineCommandHandler implements ICommandHandler<RecordHeartbeat> {
  execute(c: RecordHeartbeat): Promise<void> {
    return this.run(c.machineId, { type: 'RecordHeartbeat', data: { machineId: c.machineId } }, c.context);
  }
}

@CommandHandler(DeleteMachine)
export class DeleteMachineHandler extends MachineCommandHandler implements ICommandHandler<DeleteMachine> {
  @Inject(CREDENTIAL_CHANGES) private readonly credentials!: CredentialChanges;

  execute(c: DeleteMachine): Promise<void> {
    return deleteMachine(this, this.credentials, c.machineId, c.context);
  }
}

@QueryHandler(ListMachines)
export class ListMachinesHandler implements IQueryHandler<ListMachines> {
  constructor(@Inject(DATABASE) private readonly database: DatabaseHandle) {}
  execute(): Promise<Machine[]> {
    return listMachines(this.database.db);
  }
}

@QueryHandler(FindMachine)
export class FindMachineHandler implements IQueryHandler<FindMachine> {
  constructor(@Inject(DATABASE) private readonly database: DatabaseHandle) {}
  async execute(q: FindMachine): Promise<Machine | null> {
    // A token's id (a machine token check) may be any text: one no machine can have is not asked for.
    if (!couldBeMachineName(q.machineId)) {
      return null;
    }
    return (await loadMachineAggregate(this.database.db, q.machineId)).state;
  }
}

export const machineHandlers = [
  RegisterMachineHandler,
  ValidateMachineHandler,
  LogInMachineHandler,
  LogInMachineWithCertificateHandler,
  RecordHeartbeatHandler,
  DeleteMachineHandler,
  ListMachinesHandler,
  FindMachineHandler,
];
