import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mysqlOptionsFromUrl, sourceFromConfig } from './crowdsec-config';

describe('sourceFromConfig, db_config type mysql', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'lapi-cs-config-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const read = (dbConfig: string, env: Record<string, string> = {}) => {
    const path = join(dir, 'config.yaml');
    writeFileSync(path, `common:\n  daemonize: true\ndb_config:\n${dbConfig}`);
    return sourceFromConfig(path, env);
  };

  it("reads 1.4's host, port, user, password and db_name (the password from the environment)", () => {
    const source = read(
      '  type: mysql\n  user: crowdsec\n  password: ${DB_PASSWORD}\n  db_name: crowdsec\n  host: 192.0.2.7\n  port: 3307\n',
      { DB_PASSWORD: 's3cret' },
    );
    expect(source).toEqual({
      kind: 'mysql',
      options: { host: '192.0.2.7', port: 3307, user: 'crowdsec', password: 's3cret', database: 'crowdsec' },
      describe: 'mysql://crowdsec@192.0.2.7:3307/crowdsec',
    });
  });

  it('defaults to 127.0.0.1:3306', () => {
    expect(read('  type: mysql\n  user: cs\n  db_name: cs\n')).toMatchObject({
      options: { host: '127.0.0.1', port: 3306 },
    });
  });

  it('connects through db_path as a socket when host and port are unset (1.5+), not when either is set', () => {
    expect(read('  type: mysql\n  user: cs\n  db_name: cs\n  db_path: /run/mysqld/mysqld.sock\n')).toMatchObject({
      options: { socketPath: '/run/mysqld/mysqld.sock' },
      describe: 'mysql://cs@unix(/run/mysqld/mysqld.sock)/cs',
    });
    const tcp = read('  type: mysql\n  host: db.example\n  db_path: /run/mysqld/mysqld.sock\n');
    expect(tcp).toMatchObject({ options: { host: 'db.example', port: 3306 } });
    expect(tcp).not.toHaveProperty('options.socketPath');
  });

  it('keeps sslmode and the ssl_* files (1.5+)', () => {
    expect(
      read(
        '  type: mysql\n  sslmode: skip-verify\n  ssl_ca_cert: /ca.pem\n  ssl_client_cert: /c.pem\n' +
          '  ssl_client_key: /k.pem\n',
      ),
    ).toMatchObject({
      options: { sslmode: 'skip-verify', sslCaCert: '/ca.pem', sslClientCert: '/c.pem', sslClientKey: '/k.pem' },
    });
  });

  it('refuses a port that is not one', () => {
    expect(() => read('  type: mysql\n  port: three\n')).toThrow("db_config.port 'three' is not a port number");
  });
});

describe('mysqlOptionsFromUrl (--mysql)', () => {
  it('reads user, password (percent-decoded), host, port and database', () => {
    expect(mysqlOptionsFromUrl('mysql://cs:p%40ss%2Fw@db.example:3307/crowdsec')).toEqual({
      host: 'db.example',
      port: 3307,
      user: 'cs',
      password: 'p@ss/w',
      database: 'crowdsec',
    });
  });

  it('takes mariadb:// too, defaults the port, and unbrackets an IPv6 host', () => {
    expect(mysqlOptionsFromUrl('mariadb://root@[::1]/cs')).toMatchObject({ host: '::1', port: 3306, user: 'root' });
  });

  it('connects through ?socket= and keeps ?sslmode=', () => {
    const options = mysqlOptionsFromUrl('mysql://cs@localhost/cs?socket=/run/mysqld/mysqld.sock&sslmode=preferred');
    expect(options).toMatchObject({ socketPath: '/run/mysqld/mysqld.sock', sslmode: 'preferred' });
    expect(options).not.toHaveProperty('host');
  });

  it('refuses what is not a mysql URL, unknown parameters and bad percent-encoding, saying why', () => {
    expect(() => mysqlOptionsFromUrl('postgres://cs@db/cs')).toThrow(
      "--mysql expects a URL like mysql://user:password@127.0.0.1:3306/crowdsec, not 'postgres://cs@db/cs'",
    );
    expect(() => mysqlOptionsFromUrl('crowdsec')).toThrow('--mysql expects a URL');
    expect(() => mysqlOptionsFromUrl('mysql://cs@db/cs?ssl=1')).toThrow(
      '--mysql: unknown URL parameter(s) ssl (known: socket, sslmode)',
    );
    expect(() => mysqlOptionsFromUrl('mysql://cs:%zz@db/cs')).toThrow("'%zz' in the URL is not valid percent-encoding");
  });
});
