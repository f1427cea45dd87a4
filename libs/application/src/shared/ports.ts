import type { Actor, EventMetadata } from '@lapi/domain';
import type { DatabaseHandle, EventStore } from '@lapi/event-store';

/** Time comes in through a port so that handlers stay testable and replicas agree on one source. */
export interface Clock {
  now(): Date;
}
export const CLOCK = Symbol('CLOCK');
export const systemClock: Clock = { now: () => new Date() };

/** The DatabaseHandle (Kysely + kind) the handlers read read-models from. */
export const DATABASE = Symbol('DATABASE');

/** Who sent a command and from where; becomes the metadata of the events it causes. */
export interface CommandContext {
  readonly actor: Actor;
  readonly requestId?: string;
  readonly clientIp?: string;
}

export const toMetadata = (context: CommandContext, now: Date): EventMetadata => ({
  actor: context.actor,
  ...(context.requestId ? { requestId: context.requestId } : {}),
  ...(context.clientIp ? { clientIp: context.clientIp } : {}),
  at: now.toISOString(),
});

export const cliContext = (): CommandContext => ({ actor: { kind: 'cli', id: 'lapi' } });

/**
 * What a write needs. The API's handlers get it from Nest; the admin CLI builds it by hand, so that a command loads
 * no framework (issue #18: `lapi bouncers add` answers in the time `cscli bouncers add` does).
 */
export interface WriteDeps {
  readonly store: EventStore;
  readonly database: DatabaseHandle;
  readonly clock: Clock;
}
