import type { FastifyRequest } from 'fastify';
import { judgeClientCertificate, type CertificatePolicy, type CertificateVerdict } from './client-certificate';
import { presentedCertificate } from './presented-certificate';

/** Client-certificate authentication as configured (LAPI_TLS_*); absent on plain HTTP. */
export interface ClientCertificateOptions {
  /** False in RequestClientCert mode: certificates are asked for but none counts as verified. */
  readonly trustChain: boolean;
  readonly agents: CertificatePolicy;
  readonly bouncers: CertificatePolicy;
}

/** What this request's client certificate says for an agent login or a bouncer call. */
export const certificateVerdict = (
  request: FastifyRequest,
  options: ClientCertificateOptions | undefined,
  role: 'agents' | 'bouncers',
): CertificateVerdict =>
  options ? judgeClientCertificate(presentedCertificate(request, options.trustChain), options[role]) : { kind: 'none' };
