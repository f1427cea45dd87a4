import { z } from 'zod';

/**
 * The reference's tls.client_verification (Go's tls.ClientAuthType names). RequireAnyClientCert is left out: it
 * demands a certificate it does not verify, and the reference then refuses every unverified one anyway.
 */
export const CLIENT_VERIFICATION_MODES = [
  'NoClientCert',
  'RequestClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientVerification = (typeof CLIENT_VERIFICATION_MODES)[number];

/** HTTPS and client-certificate authentication (the reference's api.server.tls). */
export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** CAs that sign client certificates; unset: Node's bundled public roots. */
  readonly caCertFile: string | undefined;
  readonly crlFile: string | undefined;
  readonly clientVerification: ClientVerification;
  readonly agentsAllowedOu: readonly string[];
  readonly bouncersAllowedOu: readonly string[];
}

const ouList = z
  .string()
  .transform((s) => [
    ...new Set(
      s
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean),
    ),
  ])
  .refine((list) => list.length > 0, 'expected a comma-separated list of OUs');

/** The TLS variables, merged into the environment schema. */
export const tlsEnv = {
  LAPI_TLS_CERT_FILE: z.string().min(1).optional(),
  LAPI_TLS_KEY_FILE: z.string().min(1).optional(),
  LAPI_TLS_CA_CERT_FILE: z.string().min(1).optional(),
  LAPI_TLS_CRL_FILE: z.string().min(1).optional(),
  // The reference's default: verify a certificate when one is given, API keys and passwords otherwise.
  LAPI_TLS_CLIENT_VERIFICATION: z.enum(CLIENT_VERIFICATION_MODES).default('VerifyClientCertIfGiven'),
  LAPI_TLS_AGENTS_ALLOWED_OU: ouList.default('agent-ou'),
  LAPI_TLS_BOUNCERS_ALLOWED_OU: ouList.default('bouncer-ou'),
};

type TlsEnv = z.output<z.ZodObject<typeof tlsEnv>>;

/** The TLS section, undefined without a certificate; the problems that stop start-up otherwise. */
export function toTlsConfig(
  env: TlsEnv,
  present: (name: string) => boolean,
): { tls: TlsConfig | undefined; problems: string[] } {
  const { LAPI_TLS_CERT_FILE: certFile, LAPI_TLS_KEY_FILE: keyFile } = env;
  if (!certFile || !keyFile) {
    const others = Object.keys(tlsEnv).filter((k) => present(k));
    return {
      tls: undefined,
      problems:
        others.length === 0
          ? []
          : [
              `${others.join(', ')}: TLS needs both LAPI_TLS_CERT_FILE and LAPI_TLS_KEY_FILE (the server's certificate)`,
            ],
    };
  }
  return {
    tls: Object.freeze({
      certFile,
      keyFile,
      caCertFile: env.LAPI_TLS_CA_CERT_FILE,
      crlFile: env.LAPI_TLS_CRL_FILE,
      clientVerification: env.LAPI_TLS_CLIENT_VERIFICATION,
      agentsAllowedOu: Object.freeze(env.LAPI_TLS_AGENTS_ALLOWED_OU),
      bouncersAllowedOu: Object.freeze(env.LAPI_TLS_BOUNCERS_ALLOWED_OU),
    }),
    problems: [],
  };
}
