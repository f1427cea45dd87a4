import { normalizeSerial } from './crl';

/** What the TLS layer tells about the certificate a client presented. */
export interface PresentedCertificate {
  /** The chain verified against the configured CAs, dates included (Node's `socket.authorized`). */
  readonly verified: boolean;
  /** OpenSSL's reason when it did not, e.g. CERT_HAS_EXPIRED. */
  readonly verificationError: string | null;
  readonly commonName: string;
  readonly organizationalUnits: readonly string[];
  /** Hex, any case, leading zeros or not. */
  readonly serialNumber: string;
}

export type CertificateVerdict =
  | { readonly kind: 'none' }
  | { readonly kind: 'accepted'; readonly commonName: string; readonly serialNumber: string }
  | { readonly kind: 'refused'; readonly reason: string };

export interface CertificatePolicy {
  readonly allowedOus: readonly string[];
  readonly isRevoked: (serialNumber: string) => boolean;
}

/**
 * The reference's TLSAuth.ValidateCert (middlewares/v1/tls_auth.go): no certificate lets the caller fall back to a
 * key or password; a certificate must be verified, carry an allowed OU and not be revoked, and then names its
 * client by its CN. The reasons are for the log: clients only ever see "access forbidden".
 */
export function judgeClientCertificate(
  cert: PresentedCertificate | null,
  policy: CertificatePolicy,
): CertificateVerdict {
  if (cert === null) {
    return { kind: 'none' };
  }
  if (!cert.verified) {
    return { kind: 'refused', reason: `no verified cert in request (${cert.verificationError ?? 'not verified'})` };
  }
  if (!cert.organizationalUnits.some((ou) => policy.allowedOus.includes(ou))) {
    return {
      kind: 'refused',
      reason: `client certificate OU (${cert.organizationalUnits.join(', ')}) doesn't match expected OU (${policy.allowedOus.join(', ')})`,
    };
  }
  if (policy.isRevoked(cert.serialNumber)) {
    return { kind: 'refused', reason: 'client certificate is revoked' };
  }
  // The reference would name every such client `@<ip>`; one name shared by unrelated certificates is no identity.
  if (cert.commonName.trim() === '') {
    return { kind: 'refused', reason: 'client certificate has no CN' };
  }
  return { kind: 'accepted', commonName: cert.commonName, serialNumber: normalizeSerial(cert.serialNumber) };
}

/** The machine or bouncer name of an accepted certificate: `<CN>@<client IP>`, as the reference creates it. */
export const certificateClientName = (commonName: string, clientIp: string): string => `${commonName}@${clientIp}`;
