import { ConfigError, loadConfig } from './config';

const TOKEN = 't'.repeat(32);

describe('auto-registration configuration', () => {
  it('is off by default', () => {
    expect(loadConfig({}).autoRegistration).toBeUndefined();
  });

  it('reads the token and the CIDR ranges', () => {
    const config = loadConfig({
      LAPI_AUTO_REGISTRATION_TOKEN: TOKEN,
      LAPI_AUTO_REGISTRATION_ALLOWED_RANGES: '10.0.0.0/8, fd00::/8',
    });
    expect(config.autoRegistration).toEqual({ token: TOKEN, allowedRanges: ['10.0.0.0/8', 'fd00::/8'] });
  });

  it('refuses a token shorter than 32 characters, as the reference', () => {
    expect(() =>
      loadConfig({ LAPI_AUTO_REGISTRATION_TOKEN: 't'.repeat(31), LAPI_AUTO_REGISTRATION_ALLOWED_RANGES: '10.0.0.0/8' }),
    ).toThrow(/LAPI_AUTO_REGISTRATION_TOKEN: must be 32 to 255 characters long/);
  });

  it('requires the ranges with the token, and the token with the ranges', () => {
    expect(() => loadConfig({ LAPI_AUTO_REGISTRATION_TOKEN: TOKEN })).toThrow(ConfigError);
    expect(() => loadConfig({ LAPI_AUTO_REGISTRATION_ALLOWED_RANGES: '10.0.0.0/8' })).toThrow(/set both or neither/);
  });

  it.each(['10.0.0.1', '10.0.0.0/33', 'nope/8', ' , '])('refuses the range list %p', (ranges) => {
    expect(() =>
      loadConfig({ LAPI_AUTO_REGISTRATION_TOKEN: TOKEN, LAPI_AUTO_REGISTRATION_ALLOWED_RANGES: ranges }),
    ).toThrow(/LAPI_AUTO_REGISTRATION_ALLOWED_RANGES: expected a comma-separated list of CIDR ranges/);
  });
});
