import type { Bouncer, BouncerSighting } from '@lapi/domain';
import { Command, Query } from '@nestjs/cqrs';
import type { CommandContext } from '../shared/ports';

/** Adds a bouncer with the given key, or a generated one; resolves with the key (shown once, never stored). */
export class AddBouncer extends Command<string> {
  constructor(
    readonly name: string,
    readonly apiKey: string | undefined,
    readonly context: CommandContext,
  ) {
    super();
  }
}

export class DeleteBouncer extends Command<void> {
  constructor(
    readonly name: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}

export class RecordBouncerSighting extends Command<void> {
  constructor(
    readonly name: string,
    readonly sighting: BouncerSighting,
    readonly context: CommandContext,
  ) {
    super();
  }
}

/** The bouncer of an accepted client certificate (`<CN>@<IP>`), added on first use. */
export class AuthenticateCertificateBouncer extends Command<Bouncer> {
  constructor(
    readonly name: string,
    readonly context: CommandContext,
  ) {
    super();
  }
}

/** The API-key bouncer that owns this key, or null. */
export class AuthenticateBouncer extends Query<Bouncer | null> {
  constructor(readonly apiKey: string) {
    super();
  }
}

export class ListBouncers extends Query<Bouncer[]> {}

/**
 * When each of these stream positions (a bouncer's, or one of its instances') was last saved: a process's last pull,
 * kept where its position is instead of in an event per poll. Embedded mode only: a cluster keeps them in Redis.
 */
export class StreamPositionTimes extends Query<Record<string, string>> {
  constructor(readonly keys: readonly string[]) {
    super();
  }
}
