import { DomainError } from '../shared/errors';
import { parseIp, parseIpRange, rangeContains } from '../shared/ip-range';

/** The reference's api.server.auto_registration (≥1.6.5), when enabled. */
export interface AutoRegistrationPolicy {
  readonly token: string;
  /** CIDRs the registering agent must come from. */
  readonly allowedRanges: readonly string[];
}

// Both answered 401 with these texts (controllers/v1/machines.go shouldAutoRegister).
export class AutoRegistrationTokenError extends DomainError {
  readonly code = 'MACHINE.AUTO_REGISTRATION_REFUSED';
  constructor() {
    super('invalid token for auto registration');
  }
}

export class AutoRegistrationRangeError extends DomainError {
  readonly code = 'MACHINE.AUTO_REGISTRATION_REFUSED';
  constructor() {
    super('IP not in allowed range for auto registration');
  }
}

/**
 * Whether a registration is validated at once, as the reference decides it: no policy, no token, or a client
 * address that does not parse (a unix socket) → an ordinary pending registration; a wrong token or an address
 * outside the ranges → refused. The token is compared in constant time.
 */
export function autoRegistrationAccepted(
  policy: AutoRegistrationPolicy | undefined,
  token: string | undefined,
  clientIp: string,
): boolean {
  if (!policy || !token || parseIp(clientIp) === null) {
    return false;
  }
  if (!sameSecret(token, policy.token)) {
    throw new AutoRegistrationTokenError();
  }
  const client = parseIpRange(clientIp);
  const allowed = policy.allowedRanges.flatMap((r) => parseIpRange(r) ?? []);
  if (!client || !allowed.some((range) => rangeContains(range, client))) {
    throw new AutoRegistrationRangeError();
  }
  return true;
}

/** Equal strings, in a time that depends only on the lengths (a guess learns nothing from the answer time). */
const sameSecret = (a: string, b: string): boolean => {
  let diff = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    diff |= (a.charCodeAt(i) || 0) ^ (b.charCodeAt(i) || 0);
  }
  return diff === 0;
};
