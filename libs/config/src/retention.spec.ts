import { ConfigError, loadConfig } from './config';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

describe('retention configuration', () => {
  it('flushes and deletes nothing unless configured', () => {
    expect(loadConfig({}).retention).toEqual({ flush: {}, autodelete: { machines: {}, bouncers: {} } });
  });

  it('reads the limits and durations, days included as in the reference', () => {
    const { retention } = loadConfig({
      LAPI_FLUSH_MAX_ITEMS: '5000',
      LAPI_FLUSH_MAX_AGE: '7d',
      LAPI_AGENTS_AUTODELETE_LOGIN: '1d12h',
      LAPI_AGENTS_AUTODELETE_CERT: '90m',
      LAPI_BOUNCERS_AUTODELETE_API_KEY: '36h',
      LAPI_BOUNCERS_AUTODELETE_CERT: '5m',
    });
    expect(retention).toEqual({
      flush: { maxItems: 5000, maxAgeMs: 7 * DAY },
      autodelete: {
        machines: { password: 1.5 * DAY, tls: 90 * MIN },
        bouncers: { apiKey: 1.5 * DAY, tls: 5 * MIN },
      },
    });
    expect(Object.isFrozen(retention.autodelete.machines)).toBe(true);
  });

  it.each([
    ['LAPI_FLUSH_MAX_ITEMS', '0', 'must be at least 1'],
    ['LAPI_FLUSH_MAX_ITEMS', '-5', 'expected a whole number'],
    ['LAPI_FLUSH_MAX_ITEMS', '1.5', 'expected a whole number'],
    ['LAPI_FLUSH_MAX_ITEMS', 'many', 'expected a whole number'],
    ['LAPI_FLUSH_MAX_AGE', '7 days', 'expected a duration'],
    ['LAPI_FLUSH_MAX_AGE', 'd', 'expected a duration'],
    ['LAPI_FLUSH_MAX_AGE', '0', 'must be positive'],
    ['LAPI_FLUSH_MAX_AGE', '-1h', 'must be positive'],
    ['LAPI_AGENTS_AUTODELETE_LOGIN', '4m59s', 'must be at least 5m'],
    ['LAPI_AGENTS_AUTODELETE_CERT', '1x', 'expected a duration'],
    ['LAPI_BOUNCERS_AUTODELETE_API_KEY', '30s', 'must be at least 5m'],
    ['LAPI_BOUNCERS_AUTODELETE_CERT', '-7d', 'must be positive'],
  ])('%s=%s stops start-up: %s', (name, value, message) => {
    let error: unknown;
    try {
      loadConfig({ [name]: value });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain(`${name}: ${message}`);
  });

  it('names every bad retention variable in one error', () => {
    expect(() => loadConfig({ LAPI_FLUSH_MAX_ITEMS: '0', LAPI_BOUNCERS_AUTODELETE_API_KEY: '1m' })).toThrow(
      /LAPI_FLUSH_MAX_ITEMS[\s\S]*LAPI_BOUNCERS_AUTODELETE_API_KEY/,
    );
  });

  it('keeps ended decisions in the cluster read model for LAPI_PROJECTION_RETENTION, 24h by default, at least 1h', () => {
    expect(loadConfig({}).projectionRetentionMs).toBe(24 * 60 * 60_000);
    expect(loadConfig({ LAPI_PROJECTION_RETENTION: '2d' }).projectionRetentionMs).toBe(48 * 60 * 60_000);
    expect(() => loadConfig({ LAPI_PROJECTION_RETENTION: '30m' })).toThrow(
      /LAPI_PROJECTION_RETENTION: must be at least 1h/,
    );
    expect(() => loadConfig({ LAPI_PROJECTION_RETENTION: 'soon' })).toThrow(/LAPI_PROJECTION_RETENTION/);
  });
});
