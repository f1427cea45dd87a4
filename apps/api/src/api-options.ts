import type { AutoRegistrationPolicy } from '@lapi/domain';
import type { ClientCertificateOptions } from './auth/tls/certificate-auth';

/** What the HTTP layer needs from the config, provided once. */
export interface ApiOptions {
  readonly disableRemoteRegistration: boolean;
  readonly autoRegistration?: AutoRegistrationPolicy;
  readonly trustedIps: readonly string[];
  /** LAPI_TLS_*: agents and bouncers authenticated by client certificate; absent on plain HTTP. */
  readonly clientCertificates?: ClientCertificateOptions;
  /** LAPI_METRICS_MAX_AGE: how long a usage report is kept (ms). */
  readonly usageMetricsMaxAgeMs: number;
}
export const API_OPTIONS = Symbol('API_OPTIONS');
