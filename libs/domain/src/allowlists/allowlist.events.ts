import type { DomainEvent } from '../shared/event';

/** An item as added: an IP or a CIDR range, with a comment and an optional end (ISO; null: never expires). */
export interface AllowlistItemInput {
  readonly value: string;
  readonly description: string;
  readonly expiresAt: string | null;
}

export type AllowlistCreated = DomainEvent<'AllowlistCreated', { name: string; description: string; at: string }>;
/** Items added; an item whose value the list holds already replaces it (a re-added expired item lives again). */
export type AllowlistItemsAdded = DomainEvent<
  'AllowlistItemsAdded',
  { name: string; items: AllowlistItemInput[]; at: string }
>;
export type AllowlistItemsRemoved = DomainEvent<
  'AllowlistItemsRemoved',
  { name: string; values: string[]; at: string }
>;
export type AllowlistDeleted = DomainEvent<'AllowlistDeleted', { name: string; at: string }>;

export type AllowlistEvent = AllowlistCreated | AllowlistItemsAdded | AllowlistItemsRemoved | AllowlistDeleted;

export const ALLOWLIST_EVENT_TYPES: readonly AllowlistEvent['type'][] = [
  'AllowlistCreated',
  'AllowlistItemsAdded',
  'AllowlistItemsRemoved',
  'AllowlistDeleted',
];

export const allowlistStreamId = (name: string): string => `allowlist-${name}`;
