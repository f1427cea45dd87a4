import { deciderSpec } from '@lapi/testing';
import {
  decideMachine,
  evolveMachine,
  InvalidCredentialsError,
  MachineAuthTypeMismatchError,
  type MachineCommand,
  type MachineEvent,
  type MachineState,
} from '..';

const now = new Date('2026-11-29T02:00:00.000Z');
const at = now.toISOString();
const spec = deciderSpec<MachineState, MachineCommand, MachineEvent>({
  decide: decideMachine,
  evolve: evolveMachine,
  initial: null,
  now,
});
const UA = 'crowdsec/v1.4.6-6~deb12u1+b1-linux-debian';

const certLogin = (over: Partial<Extract<MachineCommand, { type: 'LogInWithCertificate' }>['data']> = {}) =>
  ({
    type: 'LogInWithCertificate',
    data: { machineId: 'agent1@10.0.0.2', ipAddress: '10.0.0.2', userAgent: UA, scenarios: null, ...over },
  }) satisfies MachineCommand;

const tlsRegistered: MachineEvent = {
  type: 'MachineRegistered',
  data: { machineId: 'agent1@10.0.0.2', passwordHash: '', ipAddress: '10.0.0.2', authType: 'tls', validated: true, at },
};
const loggedIn = (scenarios: string | null = null): MachineEvent => ({
  type: 'MachineLoggedIn',
  data: {
    machineId: 'agent1@10.0.0.2',
    ipAddress: '10.0.0.2',
    version: 'v1.4.6-6~deb12u1+b1-linux-debian',
    scenarios,
    at,
  },
});

describe('machine login by client certificate', () => {
  it('creates the machine validated, with auth type tls, and logs it in', () => {
    spec.given([]).when(certLogin()).then([tlsRegistered, loggedIn()]);
  });

  it('logs an existing certificate machine in, replacing its scenarios when the login carries some', () => {
    spec
      .given([tlsRegistered, loggedIn('a/b')])
      .when(certLogin({ scenarios: ['x/y', 'x/z'] }))
      .then([loggedIn('x/y,x/z')]);
    spec
      .given([tlsRegistered, loggedIn('a/b')])
      .when(certLogin())
      .then([loggedIn('a/b')]);
  });

  it('refuses a certificate for a machine that logs in with a password, in the reference words', () => {
    const passwordMachine: MachineEvent = {
      type: 'MachineRegistered',
      data: { ...tlsRegistered.data, passwordHash: '$2a$10$x', authType: 'password' },
    };
    spec
      .given([passwordMachine])
      .when(certLogin())
      .thenThrows(
        MachineAuthTypeMismatchError,
        'machine agent1@10.0.0.2 attempted to auth with TLS cert but it is configured to use password',
      );
  });

  it('refuses a password login to a certificate machine', () => {
    spec
      .given([tlsRegistered])
      .when({
        type: 'LogIn',
        data: {
          machineId: 'agent1@10.0.0.2',
          passwordMatches: true,
          ipAddress: '10.0.0.2',
          userAgent: UA,
          scenarios: null,
        },
      })
      .thenThrows(MachineAuthTypeMismatchError, 'attempted to auth with password but it is configured to use tls');
  });

  it('refuses a User-Agent without a version, as a password login does, and creates nothing', () => {
    spec
      .given([])
      .when(certLogin({ userAgent: 'curl' }))
      .thenThrows(InvalidCredentialsError);
  });
});
