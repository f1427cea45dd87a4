import { type AlertInput } from '@lapi/domain/alerts/alert';
import { itemCovers, type AllowlistMatchable } from '@lapi/domain/allowlists/allowlist';
import { AllowlistedValueError, InvalidAllowlistValueError } from '@lapi/domain/allowlists/allowlist.errors';
import { parseIpRange } from '@lapi/domain/shared/ip-range';
import { isIpScope, normalizeScope } from '@lapi/domain/shared/scope';
import type { DB } from '@lapi/event-store';
import { allowlistReasons } from '@lapi/read-models/allowlists/allowlists.projection';
import type { Kysely } from 'kysely';

/** Why a value (an IP or a range) is allowlisted; empty when it is not. A value that is neither is the client's error. */
export async function checkAllowlisted(db: Kysely<DB>, value: string, now: Date): Promise<string[]> {
  const target = parseIpRange(value);
  if (target === null) {
    throw new InvalidAllowlistValueError(value);
  }
  return allowlistReasons(db, target, now);
}

/** Whether an Ip/Range scoped value is covered by one of the items; values of other scopes never are. */
const covered = (items: readonly AllowlistMatchable[], scope: string, value: string): boolean => {
  if (items.length === 0 || !isIpScope(normalizeScope(scope))) {
    return false;
  }
  const target = parseIpRange(value);
  return target !== null && items.some((item) => itemCovers(item.range, target));
};

/**
 * An alert without decisions whose Ip/Range source is allowlisted is dropped: stored nowhere, answered without an id
 * (reference ≥1.6.6, contract §3.5). `items`: the active items (loadActiveAllowlistItems), read once per request.
 */
export const isAlertAllowlisted = (items: readonly AllowlistMatchable[], alert: AlertInput): boolean =>
  !alert.decisions?.length && covered(items, alert.source.scope, alert.source.value);

/** The decisions of an incoming alert (given, or made by the profiles) on values no allowlist covers. */
export const withoutAllowlisted = <D extends { scope: string; value: string }>(
  items: readonly AllowlistMatchable[],
  decisions: readonly D[],
): readonly D[] => (items.length === 0 ? decisions : decisions.filter((d) => !covered(items, d.scope, d.value)));

/** `lapi decisions add` refuses an allowlisted value, as cscli ≥1.6.6 does before sending the alert. */
export async function refuseAllowlisted(db: Kysely<DB>, scope: string, value: string, now: Date): Promise<void> {
  if (!isIpScope(scope)) {
    return;
  }
  const target = parseIpRange(value);
  const reasons = target === null ? [] : await allowlistReasons(db, target, now);
  if (reasons.length > 0) {
    throw new AllowlistedValueError(value, reasons.join(', '));
  }
}
