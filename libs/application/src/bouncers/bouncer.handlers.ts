import {
  BouncerKeyAlreadyUsedError,
  BouncerNotFoundError,
  bouncerStreamId,
  decideBouncer,
  ValidationError,
  type Bouncer,
  type BouncerCommand,
} from '@lapi/domain';
import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import {
  findBouncersByKeyHash,
  listBouncers,
  loadBouncer,
  loadBouncerAggregate,
  positionTimes,
} from '@lapi/projections';
import { Inject } from '@nestjs/common';
import { CommandHandler, QueryHandler, type ICommandHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CREDENTIAL_CHANGES, type CredentialChanges } from '../shared/credential-changes';
import { handleCommand } from '../shared/handle-command';
import { CLOCK, DATABASE, toMetadata, type Clock, type CommandContext } from '../shared/ports';
import { apiKeyProblem, generateApiKey, hashApiKey, sameHash } from './api-key';
import {
  AddBouncer,
  AuthenticateBouncer,
  AuthenticateCertificateBouncer,
  DeleteBouncer,
  ListBouncers,
  RecordBouncerSighting,
  StreamPositionTimes,
} from './bouncer.commands';

abstract class BouncerCommandHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(DATABASE) protected readonly database: DatabaseHandle,
    @Inject(CLOCK) protected readonly clock: Clock,
  ) {}

  protected async run(name: string, command: BouncerCommand, context: CommandContext): Promise<void> {
    const now = this.clock.now();
    await handleCommand(
      this.store,
      bouncerStreamId(name),
      () => loadBouncerAggregate(this.database.db, name),
      (state) => decideBouncer(command, state, now),
      toMetadata(context, now),
    );
  }
}

@CommandHandler(AddBouncer)
export class AddBouncerHandler extends BouncerCommandHandler implements ICommandHandler<AddBouncer> {
  async execute(c: AddBouncer): Promise<string> {
    const apiKey = c.apiKey ?? generateApiKey();
    const problem = apiKeyProblem(apiKey);
    if (problem) {
      throw new ValidationError(problem);
    }
    const apiKeyHash = hashApiKey(apiKey);
    // A key identifies one bouncer: a second bouncer with the same key would be indistinguishable on the wire.
    if ((await findBouncersByKeyHash(this.database.db, apiKeyHash)).length > 0) {
      throw new BouncerKeyAlreadyUsedError();
    }
    await this.run(c.name, { type: 'AddBouncer', data: { name: c.name, apiKeyHash } }, c.context);
    return apiKey;
  }
}

@CommandHandler(DeleteBouncer)
export class DeleteBouncerHandler extends BouncerCommandHandler implements ICommandHandler<DeleteBouncer> {
  @Inject(CREDENTIAL_CHANGES) private readonly credentials!: CredentialChanges;

  async execute(c: DeleteBouncer): Promise<void> {
    await this.run(c.name, { type: 'DeleteBouncer', data: { name: c.name } }, c.context);
    await this.credentials.announce({ kind: 'bouncer-deleted', name: c.name });
  }
}

@CommandHandler(RecordBouncerSighting)
export class RecordBouncerSightingHandler
  extends BouncerCommandHandler
  implements ICommandHandler<RecordBouncerSighting>
{
  execute(c: RecordBouncerSighting): Promise<void> {
    return this.run(c.name, { type: 'RecordBouncerSighting', data: { name: c.name, sighting: c.sighting } }, c.context);
  }
}

@CommandHandler(AuthenticateCertificateBouncer)
export class AuthenticateCertificateBouncerHandler
  extends BouncerCommandHandler
  implements ICommandHandler<AuthenticateCertificateBouncer>
{
  async execute(c: AuthenticateCertificateBouncer): Promise<Bouncer> {
    // The reference stores the hash of a random key nobody is shown: such a bouncer cannot use a key.
    const apiKeyHash = hashApiKey(generateApiKey());
    await this.run(c.name, { type: 'AddCertificateBouncer', data: { name: c.name, apiKeyHash } }, c.context);
    const bouncer = await loadBouncer(this.database.db, c.name);
    if (!bouncer) {
      // Deleted by an admin between the two steps: the next request adds it again.
      throw new BouncerNotFoundError(c.name);
    }
    return bouncer;
  }
}

@QueryHandler(AuthenticateBouncer)
export class AuthenticateBouncerHandler implements IQueryHandler<AuthenticateBouncer> {
  constructor(@Inject(DATABASE) private readonly database: DatabaseHandle) {}

  async execute(q: AuthenticateBouncer): Promise<Bouncer | null> {
    const hash = hashApiKey(q.apiKey);
    const [bouncer] = await findBouncersByKeyHash(this.database.db, hash);
    // The lookup is by hash already; compare in constant time anyway so no code path leaks timing on the key.
    // A certificate bouncer's key is never shown; refuse it anyway, as the reference checks the auth type.
    return bouncer && bouncer.authType === 'api-key' && sameHash(bouncer.apiKeyHash, hash) ? bouncer : null;
  }
}

@QueryHandler(ListBouncers)
export class ListBouncersHandler implements IQueryHandler<ListBouncers> {
  constructor(@Inject(DATABASE) private readonly database: DatabaseHandle) {}
  execute(): Promise<Bouncer[]> {
    return listBouncers(this.database.db);
  }
}

@QueryHandler(StreamPositionTimes)
export class StreamPositionTimesHandler implements IQueryHandler<StreamPositionTimes> {
  constructor(@Inject(DATABASE) private readonly database: DatabaseHandle) {}
  async execute(q: StreamPositionTimes): Promise<Record<string, string>> {
    return Object.fromEntries(await positionTimes(this.database.db, q.keys));
  }
}

export const bouncerHandlers = [
  AddBouncerHandler,
  DeleteBouncerHandler,
  RecordBouncerSightingHandler,
  AuthenticateBouncerHandler,
  AuthenticateCertificateBouncerHandler,
  ListBouncersHandler,
  StreamPositionTimesHandler,
];
