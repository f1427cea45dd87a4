import { ConfigError, type TlsConfig } from '@lapi/config';
import { readFileSync } from 'node:fs';
import type { ServerOptions } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { ClientCertificateOptions } from '../auth/tls/certificate-auth';
import { CrlFile } from '../auth/tls/crl-file';

const read = (variable: string, path: string): Buffer => {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new ConfigError([
      `${variable}: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
};

/**
 * The HTTPS server options and client-certificate policies for LAPI_TLS_*; unreadable or mismatched files stop
 * start-up with a ConfigError. Certificates are verified by Node (chain and dates), OUs and the CRL by the guards,
 * so a refused certificate gets the reference's 403 and a CRL change applies to open connections too. Only
 * RequireAndVerifyClientCert refuses at the handshake, as Go does, a client without a valid certificate.
 */
export function loadTlsServer(
  tls: TlsConfig,
  log: (message: string) => void,
): { https: ServerOptions; clientCertificates: ClientCertificateOptions } {
  const key = read('LAPI_TLS_KEY_FILE', tls.keyFile);
  const cert = read('LAPI_TLS_CERT_FILE', tls.certFile);
  const ca = tls.caCertFile === undefined ? undefined : read('LAPI_TLS_CA_CERT_FILE', tls.caCertFile);
  try {
    createSecureContext({ key, cert, ca });
  } catch (error) {
    throw new ConfigError([
      `LAPI_TLS_CERT_FILE, LAPI_TLS_KEY_FILE, LAPI_TLS_CA_CERT_FILE: ${error instanceof Error ? error.message : String(error)}`,
    ]);
  }
  let crl: CrlFile | undefined;
  if (tls.crlFile !== undefined) {
    try {
      crl = new CrlFile(tls.crlFile, log);
    } catch (error) {
      throw new ConfigError([
        `LAPI_TLS_CRL_FILE: cannot read a CRL from ${tls.crlFile}: ${error instanceof Error ? error.message : String(error)}`,
      ]);
    }
  }
  const mode = tls.clientVerification;
  const https: ServerOptions = {
    key,
    cert,
    ...(ca ? { ca } : {}),
    minVersion: 'TLSv1.2', // as the reference
    requestCert: mode !== 'NoClientCert',
    rejectUnauthorized: mode === 'RequireAndVerifyClientCert',
  };
  const isRevoked = (serial: string) => crl?.isRevoked(serial) ?? false;
  return {
    https,
    clientCertificates: {
      trustChain: mode !== 'RequestClientCert',
      agents: { allowedOus: tls.agentsAllowedOu, isRevoked },
      bouncers: { allowedOus: tls.bouncersAllowedOu, isRevoked },
    },
  };
}
