import { BouncerNotFoundError, type Bouncer, type BouncerCommand } from '@lapi/domain';
import { EVENT_STORE, type DatabaseHandle, type EventStore } from '@lapi/event-store';
import { findBouncersByKeyHash, listBouncers, loadBouncer, positionTimes } from '@lapi/read-models';
import { Inject } from '@nestjs/common';
import { CommandHandler, QueryHandler, type ICommandHandler, type IQueryHandler } from '@nestjs/cqrs';
import { CREDENTIAL_CHANGES, type CredentialChanges } from '../shared/credential-changes';
import { CLOCK, DATABASE, type Clock, type CommandContext, type WriteDeps } from '../shared/ports';
import { generateApiKey, hashApiKey, sameHash } from './api-key';
import { addBouncer, deleteBouncer, runBouncerCommand } from './bouncer-writes';
import {
  AddBouncer,
  AuthenticateBouncer,
  AuthenticateCertificateBouncer,
  DeleteBouncer,
  ListBouncers,
  RecordBouncerSighting,
  StreamPositionTimes,
} from './bouncer.commands';

abstract class BouncerCommandHandler implements WriteDeps {
  constructor(
    @Inject(EVENT_STORE) readonly store: EventStore,
    @Inject(DATABASE) readonly database: DatabaseHandle,
    @Inject(CLOCK) readonly clock: Clock,
  ) {}

  protected run(name: string, command: BouncerCommand, context: CommandContext): Promise<void> {
    return runBouncerCommand(this, name, command, context);
  }
}

@CommandHandler(AddBouncer)
export class AddBouncerHandler extends BouncerCommandHandler implements ICommandHandler<AddBouncer> {
  execute(c: AddBouncer): Promise<string> {
    return addBouncer(this, c.name, c.apiKey, c.context);
  }
}

@CommandHandler(DeleteBouncer)
export class DeleteBouncerHandler extends BouncerCommandHandler implements ICommandHandler<DeleteBouncer> {
  @Inject(CREDENTIAL_CHANGES) private readonly credentials!: CredentialChanges;

  execute(c: DeleteBouncer): Promise<void> {
    return deleteBouncer(this, this.credentials, c.name, c.context);
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
