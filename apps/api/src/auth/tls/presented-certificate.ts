import type { FastifyRequest } from 'fastify';
import { TLSSocket } from 'node:tls';
import type { PresentedCertificate } from './client-certificate';

const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/**
 * The certificate the client presented on this connection, or null (plain HTTP, or none sent). `trustChain` is false
 * in RequestClientCert mode, where a certificate is asked for but never counts as verified (as in Go).
 */
export function presentedCertificate(request: FastifyRequest, trustChain: boolean): PresentedCertificate | null {
  const socket = request.raw.socket;
  if (!(socket instanceof TLSSocket)) {
    return null;
  }
  const cert = socket.getPeerCertificate();
  // Node answers an empty object when the client sent no certificate.
  if (!cert || Object.keys(cert).length === 0) {
    return null;
  }
  // Node types these as strings; a subject with several OUs (or CNs) gives an array.
  const subject = cert.subject as unknown as Record<string, string | string[] | undefined>;
  const authorizationError = socket.authorizationError as Error | string | null | undefined;
  return {
    verified: trustChain && socket.authorized,
    verificationError: trustChain
      ? authorizationError
        ? String(authorizationError instanceof Error ? authorizationError.message : authorizationError)
        : null
      : 'client_verification is RequestClientCert',
    commonName: asList(subject.CN)[0] ?? '',
    organizationalUnits: asList(subject.OU),
    serialNumber: cert.serialNumber ?? '',
  };
}
