import { createTestPki, type TestPki } from '@lapi/testing';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CrlFile } from './crl-file';

describe('CrlFile', () => {
  let pki: TestPki;
  let path: string;
  let emptyCrl: Buffer;
  let now: number;
  const errors: string[] = [];

  beforeAll(() => {
    pki = createTestPki();
    path = join(pki.dir, 'served-crl.pem');
    emptyCrl = readFileSync(pki.crlFile);
    copyFileSync(pki.crlFile, path);
  });

  afterAll(() => pki?.dispose());

  const open = () => {
    now = 1_000_000;
    return new CrlFile(
      path,
      (message) => errors.push(message),
      5_000,
      () => now,
    );
  };

  it('looks at the file again only after the recheck interval, and re-reads it once changed', () => {
    const crl = open();
    pki.issue('a', { cn: 'a' });
    pki.revoke('a');
    copyFileSync(pki.crlFile, path);
    // openssl numbers this PKI's certificates from 1000 (hex): the server is 1000, `a` 1001.
    expect(crl.isRevoked('1001')).toBe(false);
    now += 5_000;
    expect(crl.isRevoked('1001')).toBe(true);
    expect(crl.isRevoked('001001')).toBe(true);
    expect(crl.isRevoked('1000')).toBe(false);
  });

  it('keeps the last good list when the file turns unreadable, and says so', () => {
    const crl = open();
    expect(crl.isRevoked('1001')).toBe(true);
    writeFileSync(path, 'not a crl at all');
    now += 5_000;
    expect(crl.isRevoked('1001')).toBe(true);
    expect(errors.at(-1)).toMatch(/still using the last one read/);
    writeFileSync(path, emptyCrl);
    now += 5_000;
    expect(crl.isRevoked('1001')).toBe(false);
  });

  it('refuses to start from a file that is not a CRL', () => {
    writeFileSync(path, readFileSync(pki.caCertFile));
    expect(() => open()).toThrow(/no X509 CRL block/);
  });
});
