import { assertNever, ValidationError } from '../shared/errors';
import { parseIpRange, rangeContains, type IpRange } from '../shared/ip-range';
import { AllowlistAlreadyExistsError, AllowlistNotFoundError, InvalidAllowlistValueError } from './allowlist.errors';
import type { AllowlistEvent, AllowlistItemInput } from './allowlist.events';

export interface AllowlistItem {
  readonly value: string;
  readonly description: string;
  readonly createdAt: string;
  /** ISO; null: never expires. */
  readonly expiresAt: string | null;
}

/** A local allowlist (cscli allowlists …); console-managed lists are not pulled here. */
export interface Allowlist {
  readonly name: string;
  readonly description: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly items: readonly AllowlistItem[];
}

export type AllowlistState = Allowlist | null;

export type AllowlistCommand =
  | { type: 'CreateAllowlist'; data: { name: string; description: string } }
  | { type: 'AddAllowlistItems'; data: { name: string; items: readonly AllowlistItemInput[] } }
  | { type: 'RemoveAllowlistItems'; data: { name: string; values: readonly string[] } }
  | { type: 'DeleteAllowlist'; data: { name: string } };

/** An item counts until its expiration has passed (pkg/database/allowlists.go: `expires_at >= now` or none). */
export const isActiveItem = (item: Pick<AllowlistItem, 'expiresAt'>, now: Date): boolean =>
  item.expiresAt === null || Date.parse(item.expiresAt) >= now.getTime();

/** The items a reader sees: expired ones are omitted, as the reference's GET /v1/allowlists does. */
export const activeItems = (list: Allowlist, now: Date): AllowlistItem[] =>
  list.items.filter((item) => isActiveItem(item, now));

/** Why a value is allowlisted, in the reference's words: `1.2.3.0/24 from my_list (office)`. */
export const allowlistReason = (match: { value: string; allowlist: string; description: string }): string =>
  `${match.value} from ${match.allowlist}${match.description === '' ? '' : ` (${match.description})`}`;

/**
 * The one rule of what an item allowlists (pkg/database/allowlists.go IsAllowlistedBy): a value of the same family
 * that the item contains, or that contains the item (a range holding an allowlisted address). The SQL of
 * allowlistReasons and findDecisionsAllowlisted says the same.
 */
export const itemCovers = (item: IpRange, target: IpRange): boolean =>
  rangeContains(item, target) || rangeContains(target, item);

/** An active item as matched in memory: its range, and what a reason names. */
export interface AllowlistMatchable {
  readonly range: IpRange;
  readonly value: string;
  readonly allowlist: string;
  readonly description: string;
}

/** The reasons a value is allowlisted by the given active items (sorted by list name, as the reference). */
export const allowlistReasonsIn = (items: readonly AllowlistMatchable[], target: IpRange): string[] =>
  items
    .filter((item) => itemCovers(item.range, target))
    .sort((a, b) => (a.allowlist < b.allowlist ? -1 : a.allowlist > b.allowlist ? 1 : 0))
    .map(allowlistReason);

// The name goes in URLs (GET /v1/allowlists/:name) and stream ids: one path segment of printable characters.
const NAME = /^[^\s/\\\p{Cc}]{1,255}$/u;

export const decideAllowlist = (command: AllowlistCommand, state: AllowlistState, now: Date): AllowlistEvent[] => {
  const at = now.toISOString();
  switch (command.type) {
    case 'CreateAllowlist': {
      const { name, description } = command.data;
      if (!NAME.test(name)) {
        throw new ValidationError(`invalid allowlist name '${name}': 1 to 255 characters, no spaces or '/'`);
      }
      if (state) {
        throw new AllowlistAlreadyExistsError(name);
      }
      return [{ type: 'AllowlistCreated', data: { name, description, at } }];
    }
    case 'AddAllowlistItems': {
      const list = existing(state, command.data.name);
      const fresh = new Map<string, AllowlistItemInput>();
      for (const item of command.data.items) {
        if (parseIpRange(item.value) === null) {
          throw new InvalidAllowlistValueError(item.value);
        }
        // A value already listed (and not expired) is kept as it is, as cscli warns and skips it.
        const listed = list.items.find((i) => i.value === item.value);
        if (!(listed && isActiveItem(listed, now))) {
          fresh.set(item.value, item);
        }
      }
      return fresh.size === 0
        ? []
        : [{ type: 'AllowlistItemsAdded', data: { name: list.name, items: [...fresh.values()], at } }];
    }
    case 'RemoveAllowlistItems': {
      const list = existing(state, command.data.name);
      const values = [...new Set(command.data.values)].filter((v) => list.items.some((i) => i.value === v));
      return values.length === 0 ? [] : [{ type: 'AllowlistItemsRemoved', data: { name: list.name, values, at } }];
    }
    case 'DeleteAllowlist': {
      const list = existing(state, command.data.name);
      return [{ type: 'AllowlistDeleted', data: { name: list.name, at } }];
    }
    default:
      return assertNever(command);
  }
};

export const evolveAllowlist = (state: AllowlistState, event: AllowlistEvent): AllowlistState => {
  switch (event.type) {
    case 'AllowlistCreated':
      return {
        name: event.data.name,
        description: event.data.description,
        createdAt: event.data.at,
        updatedAt: event.data.at,
        items: [],
      };
    case 'AllowlistItemsAdded': {
      if (!state) {
        return state;
      }
      const added = new Set(event.data.items.map((i) => i.value));
      const items: AllowlistItem[] = event.data.items.map((i) => ({
        value: i.value,
        description: i.description,
        createdAt: event.data.at,
        expiresAt: i.expiresAt,
      }));
      return {
        ...state,
        updatedAt: event.data.at,
        items: [...state.items.filter((i) => !added.has(i.value)), ...items],
      };
    }
    case 'AllowlistItemsRemoved': {
      if (!state) {
        return state;
      }
      const removed = new Set(event.data.values);
      return { ...state, updatedAt: event.data.at, items: state.items.filter((i) => !removed.has(i.value)) };
    }
    case 'AllowlistDeleted':
      return null;
    default:
      return assertNever(event);
  }
};

const existing = (state: AllowlistState, name: string): Allowlist => {
  if (!state) {
    throw new AllowlistNotFoundError(name);
  }
  return state;
};
