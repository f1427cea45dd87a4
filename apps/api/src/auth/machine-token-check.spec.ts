import { tokenRefusal, type MachineStanding } from './machine-token-check';

const REGISTERED_S = 1_800_000_000;
const machine = (over: Partial<MachineStanding> = {}): MachineStanding => ({
  validated: true,
  authType: 'password',
  registeredS: REGISTERED_S,
  ...over,
});
const never = () => false;

describe('tokenRefusal', () => {
  it('honours a token of the machine as it exists, issued in its registration second or later', () => {
    expect(tokenRefusal({ id: 'agent', orig_iat: REGISTERED_S }, machine(), never)).toBeNull();
    expect(tokenRefusal({ id: 'agent', orig_iat: REGISTERED_S + 600 }, machine(), never)).toBeNull();
  });

  it('refuses a token of a machine deleted, or deleted and registered again under its name', () => {
    expect(tokenRefusal({ id: 'agent', orig_iat: REGISTERED_S }, null, never)).toBe('token revoked: machine deleted');
    expect(tokenRefusal({ id: 'agent', orig_iat: REGISTERED_S - 1 }, machine(), never)).toBe(
      'token revoked: machine deleted',
    );
  });

  it('refuses a token of a machine not validated', () => {
    expect(tokenRefusal({ id: 'agent', orig_iat: REGISTERED_S }, machine({ validated: false }), never)).toBe(
      'machine agent not validated',
    );
  });

  it('refuses a certificate machine’s token once its certificate is revoked, or when it names none', () => {
    const tls = machine({ authType: 'tls' });
    const revoked = (serial: string) => serial === 'AB';
    expect(tokenRefusal({ id: 'cn@ip', orig_iat: REGISTERED_S, cert_serial: '1F' }, tls, revoked)).toBeNull();
    expect(tokenRefusal({ id: 'cn@ip', orig_iat: REGISTERED_S, cert_serial: 'AB' }, tls, revoked)).toBe(
      'token revoked: client certificate revoked',
    );
    expect(tokenRefusal({ id: 'cn@ip', orig_iat: REGISTERED_S }, tls, revoked)).toBe(
      'token revoked: no client certificate',
    );
  });
});
