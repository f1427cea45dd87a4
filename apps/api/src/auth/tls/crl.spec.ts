import { normalizeSerial, revokedSerials } from './crl';

// Made with `openssl ca -gencrl`: one CRL revoking nothing, one revoking serials 1001 and FF01 (DER 00 FF 01).
const EMPTY = `-----BEGIN X509 CRL-----
MIGoMFECAQEwCgYIKoZIzj0EAwIwEjEQMA4GA1UEAwwHZml4dHVyZRcNMjYxMTI5
MDIyODUyWhcNMjYxMjI5MDIyODUyWqAOMAwwCgYDVR0UBAMCAQEwCgYIKoZIzj0E
AwIDRwAwRAIgMWE++MDPpM/5EmMSwEixS1b1MZAHw1uob07Egt8hsNcCIDZhzuR+
bfDHWLZHvS+rg+m42VOUwlhHX7+7fOSEcLcq
-----END X509 CRL-----
`;
const TWO = `-----BEGIN X509 CRL-----
MIHVMH4CAQEwCgYIKoZIzj0EAwIwEjEQMA4GA1UEAwwHZml4dHVyZRcNMjYxMTI5
MDIyODUyWhcNMjYxMjI5MDIyODUyWjArMBMCAhABFw0yNjExMjkwMjI4NTJaMBQC
AwD/ARcNMjYxMTI5MDIyODUyWqAOMAwwCgYDVR0UBAMCAQIwCgYIKoZIzj0EAwID
RwAwRAIgIwvsGd22av0s1YIi0fKbWOgw6CvrlrusNoKfViL0xHsCIGvEpZjUvmkd
+wPT8eQmRlEFiqg6DZGThLbFtz4wmzPE
-----END X509 CRL-----
`;

const derOf = (pem: string) => Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');

describe('revokedSerials', () => {
  it('reads the revoked serial numbers of a PEM CRL, normalised', () => {
    expect(revokedSerials(Buffer.from(TWO))).toEqual(new Set(['1001', 'FF01']));
  });

  it('reads a CRL that revokes nothing, DER as well as PEM, and several PEM blocks', () => {
    expect(revokedSerials(Buffer.from(EMPTY))).toEqual(new Set());
    expect(revokedSerials(derOf(TWO))).toEqual(new Set(['1001', 'FF01']));
    expect(revokedSerials(Buffer.from(EMPTY + TWO))).toEqual(new Set(['1001', 'FF01']));
  });

  it('refuses what is not a CRL', () => {
    expect(() => revokedSerials(Buffer.from('hello'))).toThrow();
    expect(() => revokedSerials(Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))).toThrow(
      /no X509 CRL block/,
    );
    expect(() => revokedSerials(derOf(TWO).subarray(0, 40))).toThrow(/truncated DER/);
  });
});

describe('normalizeSerial', () => {
  it('compares serials whatever their case and leading zeros', () => {
    expect(normalizeSerial('00ff01')).toBe('FF01');
    expect(normalizeSerial('FF01')).toBe('FF01');
    expect(normalizeSerial('0')).toBe('0');
  });
});
