import { certificateClientName, judgeClientCertificate, type PresentedCertificate } from './client-certificate';

const cert = (over: Partial<PresentedCertificate> = {}): PresentedCertificate => ({
  verified: true,
  verificationError: null,
  commonName: 'fw-1',
  organizationalUnits: ['bouncer-ou'],
  serialNumber: '1001',
  ...over,
});
const policy = { allowedOus: ['bouncer-ou'], isRevoked: (serial: string) => serial === 'DEAD' };

describe('judgeClientCertificate', () => {
  it('leaves a request without a certificate to the other authentications', () => {
    expect(judgeClientCertificate(null, policy)).toEqual({ kind: 'none' });
  });

  it('accepts a verified certificate with an allowed OU, named by its CN, with its serial as the CRL lists it', () => {
    expect(judgeClientCertificate(cert(), policy)).toEqual({
      kind: 'accepted',
      commonName: 'fw-1',
      serialNumber: '1001',
    });
    expect(
      judgeClientCertificate(cert({ organizationalUnits: ['other', 'bouncer-ou'], serialNumber: '00ab' }), policy),
    ).toEqual({ kind: 'accepted', commonName: 'fw-1', serialNumber: 'AB' });
  });

  it('refuses an unverified certificate (unknown CA, expired) with OpenSSL’s reason', () => {
    expect(judgeClientCertificate(cert({ verified: false, verificationError: 'CERT_HAS_EXPIRED' }), policy)).toEqual({
      kind: 'refused',
      reason: 'no verified cert in request (CERT_HAS_EXPIRED)',
    });
  });

  it('refuses a certificate of another role or without an OU', () => {
    expect(judgeClientCertificate(cert({ organizationalUnits: ['agent-ou'] }), policy)).toEqual({
      kind: 'refused',
      reason: "client certificate OU (agent-ou) doesn't match expected OU (bouncer-ou)",
    });
    expect(judgeClientCertificate(cert({ organizationalUnits: [] }), policy).kind).toBe('refused');
  });

  it('refuses a revoked certificate, and one without a CN', () => {
    expect(judgeClientCertificate(cert({ serialNumber: 'DEAD' }), policy)).toEqual({
      kind: 'refused',
      reason: 'client certificate is revoked',
    });
    expect(judgeClientCertificate(cert({ commonName: ' ' }), policy)).toEqual({
      kind: 'refused',
      reason: 'client certificate has no CN',
    });
  });
});

describe('certificateClientName', () => {
  it('is `<CN>@<client IP>` as the reference names them', () => {
    expect(certificateClientName('fw-1', '10.0.0.5')).toBe('fw-1@10.0.0.5');
    expect(certificateClientName('fw-1', '::1')).toBe('fw-1@::1');
  });
});
