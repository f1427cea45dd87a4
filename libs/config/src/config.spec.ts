import { ConfigError, loadConfig } from './config';

const SECRET = 's'.repeat(64);

describe('loadConfig', () => {
  it('defaults to the embedded database, the data directory and the reference listen address', () => {
    const config = loadConfig({});
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.database).toEqual({ kind: 'embedded', dataDir: './data', fsync: true });
    expect(config.redisUrl).toBeUndefined();
    expect(config.jwtSecret).toBeUndefined();
    expect(config.trustedIps).toEqual(['127.0.0.1', '::1']);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads a Postgres URL, the secret and the other variables', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u@db:5432/lapi',
      CS_LAPI_SECRET: SECRET,
      REDIS_URL: 'redis://cache:6379',
      LAPI_LISTEN_URI: '[::1]:9090',
      LAPI_TRUSTED_IPS: '10.0.0.0/8, 192.168.1.1',
      LAPI_LOG_LEVEL: 'debug',
      LAPI_LOG_FORMAT: 'json',
      LAPI_DISABLE_REMOTE_REGISTRATION: 'true',
    });
    expect(config.database).toEqual({ kind: 'postgres', url: 'postgres://u@db:5432/lapi' });
    expect(config.listen).toEqual({ host: '::1', port: 9090 });
    expect(config.trustedIps).toEqual(['10.0.0.0/8', '192.168.1.1']);
    expect(config).toMatchObject({
      logLevel: 'debug',
      logFormat: 'json',
      disableRemoteRegistration: true,
      jwtSecret: SECRET,
    });
  });

  it('requires the shared secret with a Postgres database, except for the admin CLI', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://db/lapi' })).toThrow(
      /CS_LAPI_SECRET: required when DATABASE_URL is set/,
    );
    expect(loadConfig({ DATABASE_URL: 'postgres://db/lapi' }, { requireSecret: false }).jwtSecret).toBeUndefined();
  });

  it('names every bad variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ LAPI_LISTEN_URI: 'nope', CS_LAPI_SECRET: 'short', LAPI_LOG_LEVEL: 'loud', REDIS_URL: 'http://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['LAPI_LISTEN_URI', 'CS_LAPI_SECRET', 'LAPI_LOG_LEVEL', 'REDIS_URL']) {
      expect(message).toContain(name);
    }
  });

  it('refuses an out-of-range port and a bad trusted IP', () => {
    expect(() => loadConfig({ LAPI_LISTEN_URI: '127.0.0.1:70000' })).toThrow(/LAPI_LISTEN_URI/);
    expect(() => loadConfig({ LAPI_TRUSTED_IPS: 'localhost' })).toThrow(/LAPI_TRUSTED_IPS/);
  });

  it('reads the notifications directory and the signed webhook, which needs both its URL and its secret', () => {
    const webhook = { LAPI_WEBHOOK_URL: 'https://hooks.example/lapi', LAPI_WEBHOOK_SECRET: 'k'.repeat(32) };
    const config = loadConfig({ LAPI_NOTIFICATIONS_DIR: '/etc/crowdsec/notifications', ...webhook });
    expect(config.notificationsDir).toBe('/etc/crowdsec/notifications');
    expect(config.webhook).toEqual({ url: 'https://hooks.example/lapi', secret: 'k'.repeat(32) });
    expect(loadConfig({}).webhook).toBeUndefined();
    expect(() => loadConfig({ LAPI_WEBHOOK_URL: webhook.LAPI_WEBHOOK_URL })).toThrow(/set both or neither/);
    expect(() => loadConfig({ ...webhook, LAPI_WEBHOOK_SECRET: 'short' })).toThrow(/LAPI_WEBHOOK_SECRET/);
    expect(() => loadConfig({ ...webhook, LAPI_WEBHOOK_URL: 'ftp://x' })).toThrow(/LAPI_WEBHOOK_URL/);
  });
});

describe('loadConfig: hardening', () => {
  it('ignores forwarded headers by default, and refuses the flag without the proxies it would believe', () => {
    expect(loadConfig({}).trustedProxies).toBeUndefined();
    expect(loadConfig({ LAPI_USE_FORWARDED_FOR_HEADERS: 'false' }).trustedProxies).toBeUndefined();
    // The reference would trust every IPv4 peer: any client could choose its address.
    expect(() => loadConfig({ LAPI_USE_FORWARDED_FOR_HEADERS: 'true' })).toThrow(
      /LAPI_USE_FORWARDED_FOR_HEADERS=true needs LAPI_TRUSTED_PROXIES/,
    );
    expect(
      loadConfig({ LAPI_USE_FORWARDED_FOR_HEADERS: 'true', LAPI_TRUSTED_PROXIES: '10.0.0.1' }).trustedProxies,
    ).toEqual(['10.0.0.1']);
  });

  it('refuses an IP list with an entry that does not parse, naming the entry', () => {
    for (const [name, value, entry] of [
      ['LAPI_TRUSTED_IPS', '10.0.0.0/8, 10.0.0.0/33', '10.0.0.0/33'],
      ['LAPI_TRUSTED_IPS', '192.168.1.1,999.1.1.1', '999.1.1.1'],
      ['LAPI_TRUSTED_IPS', '::1, 1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7:8:9'],
      ['LAPI_TRUSTED_IPS', '127.0.0.1,localhost', 'localhost'],
      ['LAPI_TRUSTED_PROXIES', '10.0.0.1,10.0.0', '10.0.0'],
      ['LAPI_AUTO_REGISTRATION_ALLOWED_RANGES', '10.0.0.0/8,300.0.0.0/8', '300.0.0.0/8'],
      ['LAPI_AUTO_REGISTRATION_ALLOWED_RANGES', '10.0.0.0/8,10.1.2.3', '10.1.2.3'],
    ]) {
      // The ranges are only read with a token.
      const token = name === 'LAPI_AUTO_REGISTRATION_ALLOWED_RANGES' ? 't'.repeat(32) : undefined;
      const env = { [name]: value, LAPI_AUTO_REGISTRATION_TOKEN: token };
      expect(() => loadConfig(env)).toThrow(
        new RegExp(`${name}: expected .*; not one: "${entry.replace(/\./g, '\\.')}"`),
      );
    }
    expect(loadConfig({ LAPI_TRUSTED_IPS: '10.0.0.0/8, fd00::/8, 192.0.2.7' }).trustedIps).toEqual([
      '10.0.0.0/8',
      'fd00::/8',
      '192.0.2.7',
    ]);
  });

  it('takes trusted proxies as a list, which turns the headers on by itself', () => {
    expect(loadConfig({ LAPI_TRUSTED_PROXIES: '10.0.0.0/8, fd00::/8,192.0.2.7' }).trustedProxies).toEqual([
      '10.0.0.0/8',
      'fd00::/8',
      '192.0.2.7',
    ]);
    expect(() => loadConfig({ LAPI_TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/LAPI_TRUSTED_PROXIES/);
    expect(() => loadConfig({ LAPI_TRUSTED_PROXIES: 'proxy.local' })).toThrow(/LAPI_TRUSTED_PROXIES/);
    expect(() => loadConfig({ LAPI_TRUSTED_PROXIES: '10.0.0.1', LAPI_USE_FORWARDED_FOR_HEADERS: 'false' })).toThrow(
      /LAPI_TRUSTED_PROXIES/,
    );
  });

  it('has login throttling defaults a healthy fleet never reaches, and takes others', () => {
    expect(loadConfig({}).loginThrottle).toEqual({ maxPerIp: 10, maxPerMachine: 5, windowMs: 60_000 });
    expect(
      loadConfig({
        LAPI_LOGIN_MAX_FAILURES_PER_IP: '50',
        LAPI_LOGIN_MAX_FAILURES_PER_MACHINE: '3',
        LAPI_LOGIN_FAILURE_WINDOW: '5m',
      }).loginThrottle,
    ).toEqual({ maxPerIp: 50, maxPerMachine: 3, windowMs: 300_000 });
    expect(() => loadConfig({ LAPI_LOGIN_MAX_FAILURES_PER_IP: '0' })).toThrow(/LAPI_LOGIN_MAX_FAILURES_PER_IP/);
    expect(() => loadConfig({ LAPI_LOGIN_MAX_FAILURES_PER_MACHINE: 'many' })).toThrow(
      /LAPI_LOGIN_MAX_FAILURES_PER_MACHINE/,
    );
    expect(() => loadConfig({ LAPI_LOGIN_FAILURE_WINDOW: '500ms' })).toThrow(/LAPI_LOGIN_FAILURE_WINDOW/);
  });

  it('bounds the bcrypt queue: 64 waiting by default, a positive count otherwise', () => {
    expect(loadConfig({}).bcryptMaxQueued).toBe(64);
    expect(loadConfig({ LAPI_BCRYPT_MAX_QUEUED: '500' }).bcryptMaxQueued).toBe(500);
    expect(() => loadConfig({ LAPI_BCRYPT_MAX_QUEUED: '0' })).toThrow(/LAPI_BCRYPT_MAX_QUEUED/);
  });

  it('takes a previous JWT secret of at least 64 bytes', () => {
    expect(loadConfig({ CS_LAPI_SECRET_PREVIOUS: SECRET }).jwtSecretPrevious).toBe(SECRET);
    expect(() => loadConfig({ CS_LAPI_SECRET_PREVIOUS: 'short' })).toThrow(/CS_LAPI_SECRET_PREVIOUS/);
  });
});
