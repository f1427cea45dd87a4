import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A client certificate the test PKI issued: file paths, ready for https.request or a bouncer's config. */
export interface IssuedCertificate {
  readonly certFile: string;
  readonly keyFile: string;
}

/** A throw-away certificate authority made with the `openssl` command, in a temp directory. */
export interface TestPki {
  readonly dir: string;
  readonly caCertFile: string;
  /** For `localhost`, 127.0.0.1 and ::1. */
  readonly server: IssuedCertificate;
  /** The CA's current CRL (PEM); rewritten by `revoke`. */
  readonly crlFile: string;
  /** Issues a client certificate; `validity` as openssl's YYYYMMDDHHMMSSZ dates (default: yesterday → next year). */
  issue(
    name: string,
    subject: { cn: string; ou?: string | string[] },
    validity?: { start: Date; end: Date },
  ): IssuedCertificate;
  /** Revokes a certificate issue() made and rewrites the CRL file. */
  revoke(name: string): void;
  dispose(): void;
}

const DAY_MS = 86_400_000;

const opensslDate = (d: Date): string => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;

const caConfig = (dir: string): string => `
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/issued
certificate = $dir/ca.crt
private_key = $dir/ca.key
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = 365
default_crl_days = 30
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
organizationalUnitName = optional
commonName = supplied
[ server_ext ]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
extendedKeyUsage = serverAuth
[ client_ext ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
`;

/** Creates a CA, a server certificate and an (empty) CRL; everything lives in one temp directory. */
export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'lapi-pki-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const config = join(dir, 'ca.cnf');
  writeFileSync(config, caConfig(dir));
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  mkdirSync(join(dir, 'issued'));
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ecKey,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '3650',
    '-subj',
    '/CN=LAPI Test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  const sign = (name: string, subject: string, extensions: string, validity: { start: Date; end: Date }) => {
    openssl('req', '-new', ...ecKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    openssl(
      'ca',
      '-batch',
      '-notext',
      '-config',
      config,
      '-extensions',
      extensions,
      '-in',
      `${name}.csr`,
      '-out',
      `${name}.crt`,
      '-startdate',
      opensslDate(validity.start),
      '-enddate',
      opensslDate(validity.end),
    );
    return { certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) };
  };
  const defaultValidity = () => ({ start: new Date(Date.now() - DAY_MS), end: new Date(Date.now() + 365 * DAY_MS) });
  const writeCrl = () => openssl('ca', '-config', config, '-gencrl', '-out', 'crl.pem');
  const server = sign('server', '/CN=localhost', 'server_ext', defaultValidity());
  writeCrl();
  return {
    dir,
    caCertFile: join(dir, 'ca.crt'),
    server,
    crlFile: join(dir, 'crl.pem'),
    issue: (name, subject, validity = defaultValidity()) => {
      const ous = subject.ou === undefined ? [] : Array.isArray(subject.ou) ? subject.ou : [subject.ou];
      return sign(name, `${ous.map((ou) => `/OU=${ou}`).join('')}/CN=${subject.cn}`, 'client_ext', validity);
    },
    revoke: (name) => {
      openssl('ca', '-config', config, '-revoke', `${name}.crt`);
      writeCrl();
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}
