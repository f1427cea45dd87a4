import type { AutoRegistrationPolicy } from '@lapi/domain';

/** What the HTTP layer needs from the config, provided once. */
export interface ApiOptions {
  readonly disableRemoteRegistration: boolean;
  readonly autoRegistration?: AutoRegistrationPolicy;
  readonly trustedIps: readonly string[];
}
export const API_OPTIONS = Symbol('API_OPTIONS');
