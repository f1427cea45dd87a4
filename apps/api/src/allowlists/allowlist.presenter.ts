import type { Allowlist } from '@lapi/domain';
import type { GetAllowlistResponse } from '@lapi/lapi-contract';

// strfmt.DateTime's zero value, which the reference sends for an item that never expires.
const GO_ZERO_TIME = '0001-01-01T00:00:00.000Z';

/** An allowlist as the reference serialises models.GetAllowlistResponse (see lapi-contract allowlists.ts). */
export const presentAllowlist = (list: Allowlist): GetAllowlistResponse => ({
  created_at: list.createdAt,
  ...(list.description !== '' && { description: list.description }),
  items: list.items.map((item) => ({
    created_at: item.createdAt,
    ...(item.description !== '' && { description: item.description }),
    expiration: item.expiresAt ?? GO_ZERO_TIME,
    value: item.value,
  })),
  name: list.name,
  updated_at: list.updatedAt,
});
