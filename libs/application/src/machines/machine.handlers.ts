import {
  assertRegistrableMachine,
  couldBeMachineName,
  decideMachine,
  MachineNotFoundError,
  machineStreamId,
  passwordTooLong,
  type Machine,
  type MachineCommand,
} from '@lapi/domain';
import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { listMachines, loadMachineAggregate } from '@lapi/projections';
import { Inject } from '@nestjs/common';
import { CommandHandler, QueryHandler, type ICommandHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CREDENTIAL_CHANGES, type CredentialChanges } from '../shared/credential-changes';
import { handleCommand } from '../shared/handle-command';
import { CLOCK, DATABASE, toMetadata, type Clock, type CommandContext } from '../shared/ports';
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
abstract class MachineCommandHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(DATABASE) protected readonly database: DatabaseHandle,
    @Inject(CLOCK) protected readonly clock: Clock,
  ) {}

  protected async run(machineId: string, command: MachineCommand, context: CommandContext): Promise<void> {
    const now = this.clock.now();
    await handleCommand(
      this.store,
      machineStreamId(machineId),
      () => loadMachineAggregate(this.database.db, machineId),
      (state) => decideMachine(command, state, now),
      toMetadata(context, now),
    );
  }
}

@CommandHandler(RegisterMachine)
export class RegisterMachineHandler extends MachineCommandHandler implements ICommandHandler<RegisterMachine> {
  @Inject(PASSWORD_HASHER) private readonly hasher!: PasswordHasher;

  async execute(c: RegisterMachine): Promise<void> {
    // Before any bcrypt or database work: a bad name or an over-long password costs nothing.
    assertRegistrableMachine(c.machineId, c.password);
    const { state } = await loadMachineAggregate(this.database.db, c.machineId);
    // bcrypt outside the pure decision: whether this is the existing machine registering again. Another
    // machine's name is refused without hashing a password it will never store.
    const sameCredentials = state !== null && (await this.hasher.matches(c.password, state.passwordHash));
    const passwordHash = state === null ? await this.hasher.hash(c.password) : state.passwordHash;
    await this.run(
      c.machineId,
      {
        type: 'RegisterMachine',
        data: { machineId: c.machineId, passwordHash, ipAddress: c.ipAddress, validated: c.validated, sameCredentials },
      },
      c.context,
    );
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

  async execute(c: DeleteMachine): Promise<void> {
    await this.run(c.machineId, { type: 'DeleteMachine', data: { machineId: c.machineId } }, c.context);
    await this.credentials.announce({ kind: 'machine-deleted', machineId: c.machineId });
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
