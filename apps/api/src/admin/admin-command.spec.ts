import { loadConfig } from '@lapi/config';
import { adminCommandPrefix, nextSteps, withoutPassword } from './admin-command';

describe("the start banner's admin commands", () => {
  it('point lapi at the embedded data directory by its absolute path', () => {
    const config = loadConfig({ LAPI_DATA_DIR: './data' });
    expect(adminCommandPrefix(config, '/srv/lapi')).toEqual({
      prefix: 'LAPI_DATA_DIR=/srv/lapi/data npx lapi',
      hidden: [],
    });
    const spaced = loadConfig({ LAPI_DATA_DIR: "/srv/my lapi's data" });
    expect(adminCommandPrefix(spaced).prefix).toBe(`LAPI_DATA_DIR='/srv/my lapi'\\''s data' npx lapi`);
  });

  it('point it at PostgreSQL and Redis without printing a password, and say where to put it back', () => {
    const config = loadConfig(
      {
        DATABASE_URL: 'postgres://lapi:s3cret-pass@db.example:5432/lapi?sslmode=require',
        REDIS_URL: 'redis://:redis-pass@cache:6379/0',
        LAPI_REDIS_PREFIX: 'prod:',
      },
      { requireSecret: false },
    );
    const { prefix, hidden } = adminCommandPrefix(config);
    expect(prefix).toBe(
      "DATABASE_URL='postgres://lapi:****@db.example:5432/lapi?sslmode=require' REDIS_URL=redis://:****@cache:6379/0 " +
        'LAPI_REDIS_PREFIX=prod: npx lapi',
    );
    expect(hidden).toEqual(['DATABASE_URL', 'REDIS_URL']);
    const banner = nextSteps(config, 'http://127.0.0.1:8080');
    expect(banner).not.toMatch(/s3cret-pass|redis-pass/);
    expect(banner).toContain(`${prefix} bouncers add my-bouncer`);
    expect(banner).toContain('put the password back in DATABASE_URL and REDIS_URL where it shows ****');
  });

  it('hide passwords given as query parameters too', () => {
    expect(withoutPassword('postgres://db/lapi?user=u&password=p4ss')).toEqual({
      url: 'postgres://db/lapi?user=u&password=****',
      hidden: true,
    });
    expect(withoutPassword('postgres://u@db/lapi')).toEqual({ url: 'postgres://u@db/lapi', hidden: false });
  });
});
