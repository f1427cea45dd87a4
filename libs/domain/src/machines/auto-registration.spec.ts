import { autoRegistrationAccepted, AutoRegistrationRangeError, AutoRegistrationTokenError } from '..';

const policy = { token: 'a'.repeat(32), allowedRanges: ['10.0.0.0/8', 'fd00::/8'] };

describe('autoRegistrationAccepted', () => {
  it('accepts the token from an allowed range, IPv4 and IPv6', () => {
    expect(autoRegistrationAccepted(policy, 'a'.repeat(32), '10.1.2.3')).toBe(true);
    expect(autoRegistrationAccepted(policy, 'a'.repeat(32), 'fd00::1')).toBe(true);
    expect(autoRegistrationAccepted(policy, 'a'.repeat(32), '::ffff:10.0.0.9')).toBe(true);
  });

  it('is an ordinary registration without a policy, without a token, or from an address that does not parse', () => {
    expect(autoRegistrationAccepted(undefined, 'a'.repeat(32), '10.1.2.3')).toBe(false);
    expect(autoRegistrationAccepted(policy, undefined, '10.1.2.3')).toBe(false);
    expect(autoRegistrationAccepted(policy, '', '10.1.2.3')).toBe(false);
    expect(autoRegistrationAccepted(policy, 'a'.repeat(32), '')).toBe(false);
  });

  it('refuses a wrong token before looking at the address, with the reference texts', () => {
    expect(() => autoRegistrationAccepted(policy, 'b'.repeat(32), '192.0.2.1')).toThrow(
      new AutoRegistrationTokenError(),
    );
    expect(() => autoRegistrationAccepted(policy, 'a'.repeat(31), '10.1.2.3')).toThrow(
      'invalid token for auto registration',
    );
    expect(() => autoRegistrationAccepted(policy, 'a'.repeat(33), '10.1.2.3')).toThrow(AutoRegistrationTokenError);
    expect(() => autoRegistrationAccepted(policy, 'a'.repeat(32), '192.0.2.1')).toThrow(
      'IP not in allowed range for auto registration',
    );
    expect(() => autoRegistrationAccepted(policy, 'a'.repeat(32), '11.0.0.1')).toThrow(AutoRegistrationRangeError);
  });
});
