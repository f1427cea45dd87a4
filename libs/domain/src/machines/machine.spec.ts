import { deciderSpec } from '@lapi/testing';
import {
  decideMachine,
  evolveMachine,
  InvalidCredentialsError,
  MachineAlreadyExistsError,
  MachineNotFoundError,
  MachineNotValidatedError,
  machineVersionFromUserAgent,
  MAX_SCENARIOS_LENGTH,
  type MachineCommand,
  type MachineEvent,
  type MachineState,
} from '..';

const now = new Date('2026-11-28T20:00:00.000Z');
const at = now.toISOString();
const spec = deciderSpec<MachineState, MachineCommand, MachineEvent>({
  decide: decideMachine,
  evolve: evolveMachine,
  initial: null,
  now,
});

const registered = (validated = false): MachineEvent => ({
  type: 'MachineRegistered',
  data: { machineId: 'agent', passwordHash: '$2a$10$hash', ipAddress: '10.0.0.1', authType: 'password', validated, at },
});
const login = (over: Partial<Extract<MachineCommand, { type: 'LogIn' }>['data']> = {}): MachineCommand => ({
  type: 'LogIn',
  data: {
    machineId: 'agent',
    passwordMatches: true,
    ipAddress: '10.0.0.2',
    userAgent: 'crowdsec/v1.4.6-6~deb12u1+b1-linux-debian',
    scenarios: ['crowdsecurity/ssh-bf', 'crowdsecurity/ssh-slow-bf'],
    ...over,
  },
});

describe('machine decider', () => {
  describe('RegisterMachine', () => {
    const register: MachineCommand = {
      type: 'RegisterMachine',
      data: {
        machineId: 'agent',
        passwordHash: '$2a$10$hash',
        ipAddress: '10.0.0.1',
        validated: false,
        sameCredentials: false,
      },
    };
    const again = (validated: boolean, sameCredentials = true): MachineCommand => ({
      type: 'RegisterMachine',
      data: { machineId: 'agent', passwordHash: '$2a$10$other', ipAddress: '10.0.0.3', validated, sameCredentials },
    });

    it('registers a new machine unvalidated', () => {
      spec
        .given([])
        .when(register)
        .then([registered(false)]);
    });

    it('refuses an existing name with the reference message', () => {
      spec
        .given([registered()])
        .when(register)
        .thenThrows(MachineAlreadyExistsError, "user 'agent': user already exist");
    });

    it('accepts the same machine registering again with its password, recording nothing', () => {
      spec
        .given([registered(true)])
        .when(again(false))
        .then([]);
      spec
        .given([registered(false)])
        .when(again(false))
        .then([]);
    });

    it('validates a pending machine that registers again with its password and the auto-registration token', () => {
      spec
        .given([registered(false)])
        .when(again(true))
        .then([{ type: 'MachineValidated', data: { machineId: 'agent', at } }]);
      spec
        .given([registered(true)])
        .when(again(true))
        .then([]);
    });

    it('refuses the name to another password, even with the token', () => {
      spec
        .given([registered(true)])
        .when(again(true, false))
        .thenThrows(MachineAlreadyExistsError, "user 'agent': user already exist");
    });

    it('allows the name again once the machine was deleted', () => {
      spec
        .given([registered(), { type: 'MachineDeleted', data: { machineId: 'agent', at } }])
        .when(register)
        .then([registered(false)]);
    });
  });

  describe('ValidateMachine', () => {
    it('validates a pending machine', () => {
      spec
        .given([registered(false)])
        .when({ type: 'ValidateMachine', data: { machineId: 'agent' } })
        .then([{ type: 'MachineValidated', data: { machineId: 'agent', at } }]);
    });

    it('records nothing for a machine already validated', () => {
      spec
        .given([registered(true)])
        .when({ type: 'ValidateMachine', data: { machineId: 'agent' } })
        .then([]);
    });

    it('refuses an unknown machine', () => {
      spec
        .given([])
        .when({ type: 'ValidateMachine', data: { machineId: 'agent' } })
        .thenThrows(MachineNotFoundError);
    });
  });

  describe('LogIn', () => {
    it('records scenarios comma-joined, the client IP and the version from the User-Agent', () => {
      spec
        .given([registered(true)])
        .when(login())
        .then([
          {
            type: 'MachineLoggedIn',
            data: {
              machineId: 'agent',
              ipAddress: '10.0.0.2',
              version: 'v1.4.6-6~deb12u1+b1-linux-debian',
              scenarios: 'crowdsecurity/ssh-bf,crowdsecurity/ssh-slow-bf',
              at,
            },
          },
        ]);
    });

    it('keeps the stored scenarios when the login carries none (cscli sends null)', () => {
      const first: MachineEvent = {
        type: 'MachineLoggedIn',
        data: { machineId: 'agent', ipAddress: '10.0.0.2', version: 'v1', scenarios: 'a,b', at },
      };
      spec
        .given([registered(true), first])
        .when(login({ scenarios: null }))
        .then([
          {
            type: 'MachineLoggedIn',
            data: {
              machineId: 'agent',
              ipAddress: '10.0.0.2',
              version: 'v1.4.6-6~deb12u1+b1-linux-debian',
              scenarios: 'a,b',
              at,
            },
          },
        ]);
    });

    it('checks existence, then validation, then the password, in the reference order', () => {
      spec
        .given([])
        .when(login({ passwordMatches: false }))
        .thenThrows(MachineNotFoundError);
      spec
        .given([registered(false)])
        .when(login({ passwordMatches: false }))
        .thenThrows(MachineNotValidatedError, 'machine agent not validated');
      spec
        .given([registered(true)])
        .when(login({ passwordMatches: false }))
        .thenThrows(InvalidCredentialsError, 'incorrect Username or Password');
    });

    it.each([undefined, 'curl', 'a/b/c', ''])('refuses the User-Agent %p, which does not split in two on "/"', (ua) => {
      spec
        .given([registered(true)])
        .when(login({ userAgent: ua }))
        .thenThrows(InvalidCredentialsError);
    });

    it('refuses scenarios longer than the column the reference has', () => {
      const scenarios = ['x'.repeat(MAX_SCENARIOS_LENGTH + 1)];
      spec
        .given([registered(true)])
        .when(login({ scenarios }))
        .thenThrows(InvalidCredentialsError);
    });
  });

  describe('RecordHeartbeat and DeleteMachine', () => {
    it('records a heartbeat of a known machine, and nothing for an unknown one', () => {
      spec
        .given([registered(true)])
        .when({ type: 'RecordHeartbeat', data: { machineId: 'agent' } })
        .then([{ type: 'MachineHeartbeatRecorded', data: { machineId: 'agent', at } }]);
      spec
        .given([])
        .when({ type: 'RecordHeartbeat', data: { machineId: 'agent' } })
        .then([]);
    });

    it('deletes a known machine and refuses an unknown one', () => {
      spec
        .given([registered(true)])
        .when({ type: 'DeleteMachine', data: { machineId: 'agent' } })
        .then([{ type: 'MachineDeleted', data: { machineId: 'agent', at } }]);
      spec
        .given([])
        .when({ type: 'DeleteMachine', data: { machineId: 'agent' } })
        .thenThrows(MachineNotFoundError);
    });
  });

  describe('evolve', () => {
    it('folds a history into the read-model state', () => {
      const later = '2026-11-28T21:00:00.000Z';
      const state = [
        registered(false),
        { type: 'MachineValidated', data: { machineId: 'agent', at: later } },
        {
          type: 'MachineLoggedIn',
          data: { machineId: 'agent', ipAddress: '10.0.0.9', version: 'v1', scenarios: 's', at: later },
        },
        { type: 'MachineHeartbeatRecorded', data: { machineId: 'agent', at: later } },
      ].reduce<MachineState>((s, e) => evolveMachine(s, e as MachineEvent), null);
      expect(state).toEqual({
        machineId: 'agent',
        passwordHash: '$2a$10$hash',
        ipAddress: '10.0.0.9',
        authType: 'password',
        validated: true,
        version: 'v1',
        scenarios: 's',
        createdAt: at,
        updatedAt: later,
        lastPush: null,
        lastHeartbeat: later,
      });
    });
  });

  it('takes the version from a User-Agent of exactly two parts', () => {
    expect(machineVersionFromUserAgent('crowdsec/v1.4.6')).toBe('v1.4.6');
    expect(machineVersionFromUserAgent('crowdsec')).toBeNull();
  });
});

describe('importing a machine from CrowdSec', () => {
  const imported = {
    machineId: 'agent',
    passwordHash: '$2a$10$fromcrowdsec',
    ipAddress: '10.0.0.9',
    authType: 'password' as const,
    validated: false,
    version: 'v1.4.6',
    scenarios: 'crowdsecurity/ssh-bf',
    createdAt: '2026-01-01T00:00:00.000Z',
    lastPush: null,
    lastHeartbeat: '2026-01-02T00:00:00.000Z',
  };
  const importIt: MachineCommand = { type: 'ImportMachine', data: { machine: imported } };

  it('keeps the hash as stored, validated or not as it was', () => {
    spec
      .given([])
      .when(importIt)
      .then([{ type: 'MachineImported', data: { ...imported, at } }]);
    expect(evolveMachine(null, { type: 'MachineImported', data: { ...imported, at } })).toMatchObject({
      passwordHash: '$2a$10$fromcrowdsec',
      validated: false,
      createdAt: '2026-01-01T00:00:00.000Z',
      scenarios: 'crowdsecurity/ssh-bf',
    });
  });

  it('changes nothing the second time', () => {
    spec
      .given([{ type: 'MachineImported', data: { ...imported, at } }])
      .when(importIt)
      .then([]);
  });

  it('refuses to replace another machine of that name', () => {
    spec
      .given([registered(true)])
      .when(importIt)
      .thenThrows(MachineAlreadyExistsError);
  });
});
