/** A domain event before it is stored: a past-tense type and its data (emmett's `Event<Type, Data>`). */
export interface DomainEvent<Type extends string = string, Data extends object = object> {
  readonly type: Type;
  readonly data: Data;
}

/** Who caused a change: a machine (agent, cscli), a bouncer, the admin CLI, or the server itself. */
export type Actor =
  | { readonly kind: 'machine'; readonly id: string }
  | { readonly kind: 'bouncer'; readonly id: string }
  | { readonly kind: 'cli'; readonly id: string }
  | { readonly kind: 'system'; readonly id: string };

/** Stored next to each event: why it happened and from where. */
export interface EventMetadata {
  readonly actor: Actor;
  readonly requestId?: string;
  readonly clientIp?: string;
  /** ISO-8601 time the command was decided at. */
  readonly at: string;
}
