import { ConfigError, loadConfig } from './config';

describe('TLS configuration', () => {
  it('is off without a server certificate', () => {
    expect(loadConfig({}).tls).toBeUndefined();
  });

  it('takes the reference defaults: verify a certificate if given, agent-ou and bouncer-ou', () => {
    const { tls } = loadConfig({
      LAPI_TLS_CERT_FILE: '/etc/lapi/server.crt',
      LAPI_TLS_KEY_FILE: '/etc/lapi/server.key',
    });
    expect(tls).toEqual({
      certFile: '/etc/lapi/server.crt',
      keyFile: '/etc/lapi/server.key',
      caCertFile: undefined,
      crlFile: undefined,
      clientVerification: 'VerifyClientCertIfGiven',
      agentsAllowedOu: ['agent-ou'],
      bouncersAllowedOu: ['bouncer-ou'],
    });
  });

  it('reads the CA, the CRL, the mode and OU lists (trimmed, without duplicates)', () => {
    const { tls } = loadConfig({
      LAPI_TLS_CERT_FILE: 'c',
      LAPI_TLS_KEY_FILE: 'k',
      LAPI_TLS_CA_CERT_FILE: 'ca',
      LAPI_TLS_CRL_FILE: 'crl',
      LAPI_TLS_CLIENT_VERIFICATION: 'RequireAndVerifyClientCert',
      LAPI_TLS_AGENTS_ALLOWED_OU: 'agents, ops ,agents',
      LAPI_TLS_BOUNCERS_ALLOWED_OU: 'edge',
    });
    expect(tls).toMatchObject({
      caCertFile: 'ca',
      crlFile: 'crl',
      clientVerification: 'RequireAndVerifyClientCert',
      agentsAllowedOu: ['agents', 'ops'],
      bouncersAllowedOu: ['edge'],
    });
  });

  it('refuses an unknown mode, an empty OU list, and TLS settings without the server certificate', () => {
    expect(() =>
      loadConfig({ LAPI_TLS_CERT_FILE: 'c', LAPI_TLS_KEY_FILE: 'k', LAPI_TLS_CLIENT_VERIFICATION: 'yes' }),
    ).toThrow(/LAPI_TLS_CLIENT_VERIFICATION/);
    expect(() =>
      loadConfig({ LAPI_TLS_CERT_FILE: 'c', LAPI_TLS_KEY_FILE: 'k', LAPI_TLS_AGENTS_ALLOWED_OU: ' , ' }),
    ).toThrow(/LAPI_TLS_AGENTS_ALLOWED_OU: expected a comma-separated list of OUs/);
    expect(() => loadConfig({ LAPI_TLS_CERT_FILE: 'c' })).toThrow(ConfigError);
    expect(() => loadConfig({ LAPI_TLS_CA_CERT_FILE: 'ca' })).toThrow(
      /LAPI_TLS_CA_CERT_FILE: TLS needs both LAPI_TLS_CERT_FILE and LAPI_TLS_KEY_FILE/,
    );
  });
});
