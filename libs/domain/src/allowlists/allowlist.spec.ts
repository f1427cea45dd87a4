import { deciderSpec } from '@lapi/testing';
import {
  activeItems,
  AllowlistAlreadyExistsError,
  AllowlistNotFoundError,
  allowlistReason,
  decideAllowlist,
  evolveAllowlist,
  InvalidAllowlistValueError,
  type AllowlistCommand,
  type AllowlistEvent,
  type AllowlistState,
} from '..';

const now = new Date('2026-11-28T20:00:00.000Z');
const at = now.toISOString();
const spec = deciderSpec<AllowlistState, AllowlistCommand, AllowlistEvent>({
  decide: decideAllowlist,
  evolve: evolveAllowlist,
  initial: null,
  now,
});
const created: AllowlistEvent = { type: 'AllowlistCreated', data: { name: 'office', description: 'd', at } };
const item = (value: string, expiresAt: string | null = null) => ({ value, description: '', expiresAt });
const added = (...items: ReturnType<typeof item>[]): AllowlistEvent => ({
  type: 'AllowlistItemsAdded',
  data: { name: 'office', items, at },
});

describe('allowlist decider', () => {
  it('creates a list once', () => {
    spec
      .given([])
      .when({ type: 'CreateAllowlist', data: { name: 'office', description: 'd' } })
      .then([created]);
    spec
      .given([created])
      .when({ type: 'CreateAllowlist', data: { name: 'office', description: 'x' } })
      .thenThrows(AllowlistAlreadyExistsError, "allowlist 'office' already exists");
  });

  it('adds IPs and ranges, skipping values listed and active, refusing anything else', () => {
    const add = (...values: string[]): AllowlistCommand => ({
      type: 'AddAllowlistItems',
      data: { name: 'office', items: values.map((v) => item(v)) },
    });
    spec
      .given([created])
      .when(add('1.2.3.4', '10.0.0.0/8', '2001:db8::/32'))
      .then([added(item('1.2.3.4'), item('10.0.0.0/8'), item('2001:db8::/32'))]);
    spec
      .given([created, added(item('1.2.3.4'))])
      .when(add('1.2.3.4'))
      .then([]);
    // An expired item is as good as gone: adding its value again gives it a new life.
    spec
      .given([created, added(item('1.2.3.4', '2026-11-28T19:00:00.000Z'))])
      .when(add('1.2.3.4'))
      .then([added(item('1.2.3.4'))]);
    spec.given([created]).when(add('1.2.3.4', 'nope')).thenThrows(InvalidAllowlistValueError);
    spec.given([]).when(add('1.2.3.4')).thenThrows(AllowlistNotFoundError, "allowlist 'office' not found");
  });

  it('removes only values it holds, and deletes the list', () => {
    spec
      .given([created, added(item('1.2.3.4'))])
      .when({ type: 'RemoveAllowlistItems', data: { name: 'office', values: ['1.2.3.4', '5.6.7.8'] } })
      .then([{ type: 'AllowlistItemsRemoved', data: { name: 'office', values: ['1.2.3.4'], at } }]);
    spec
      .given([created])
      .when({ type: 'RemoveAllowlistItems', data: { name: 'office', values: ['5.6.7.8'] } })
      .then([]);
    spec
      .given([created])
      .when({ type: 'DeleteAllowlist', data: { name: 'office' } })
      .then([{ type: 'AllowlistDeleted', data: { name: 'office', at } }]);
  });

  it('omits expired items and words reasons as the reference', () => {
    const list = [created, added(item('1.2.3.4', '2026-11-28T19:59:59.000Z'), item('5.6.7.8'))].reduce(
      evolveAllowlist,
      null as AllowlistState,
    )!;
    expect(activeItems(list, now).map((i) => i.value)).toEqual(['5.6.7.8']);
    expect(allowlistReason({ value: '1.2.3.0/24', allowlist: 'my_list', description: 'office' })).toBe(
      '1.2.3.0/24 from my_list (office)',
    );
    expect(allowlistReason({ value: '1.2.3.4', allowlist: 'my_list', description: '' })).toBe('1.2.3.4 from my_list');
  });
});
