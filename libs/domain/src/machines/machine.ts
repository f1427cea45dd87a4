import { assertNever } from '../shared/errors';
import {
  InvalidCredentialsError,
  MachineAlreadyExistsError,
  MachineAuthTypeMismatchError,
  MachineNotFoundError,
  MachineNotValidatedError,
} from './machine.errors';
import type { ImportedMachine, MachineAuthType, MachineEvent } from './machine.events';

/** A machine as the decider and the read model see it; null when it does not exist (or was deleted). */
export interface Machine {
  readonly machineId: string;
  readonly passwordHash: string;
  readonly ipAddress: string;
  readonly authType: MachineAuthType;
  readonly validated: boolean;
  readonly version: string | null;
  /** Comma-joined, as the reference stores them. */
  readonly scenarios: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastPush: string | null;
  readonly lastHeartbeat: string | null;
}

export type MachineState = Machine | null;

export type MachineCommand =
  | {
      type: 'RegisterMachine';
      data: {
        machineId: string;
        passwordHash: string;
        ipAddress: string;
        validated: boolean;
        /** The password given matches the existing machine's (false when there is none). */
        sameCredentials: boolean;
      };
    }
  | { type: 'ValidateMachine'; data: { machineId: string } }
  | {
      type: 'LogIn';
      data: {
        machineId: string;
        passwordMatches: boolean;
        ipAddress: string;
        userAgent: string | undefined;
        scenarios: readonly string[] | null;
      };
    }
  | {
      /** A client certificate the server accepted: logs its machine in, creating it (validated) on first use. */
      type: 'LogInWithCertificate';
      data: {
        machineId: string;
        ipAddress: string;
        userAgent: string | undefined;
        scenarios: readonly string[] | null;
      };
    }
  | { type: 'RecordHeartbeat'; data: { machineId: string } }
  | { type: 'DeleteMachine'; data: { machineId: string } }
  /** From a CrowdSec database: the same machine again (same hash and auth type) changes nothing. */
  | { type: 'ImportMachine'; data: { machine: ImportedMachine } };

/** Whether an existing machine is the imported one (same credentials): importing it again changes nothing. */
export const sameImportedMachine = (state: Machine, imported: ImportedMachine): boolean =>
  state.passwordHash === imported.passwordHash && state.authType === imported.authType;

// The reference's 1.4.6 column was 4095 characters and overflow failed the login; ≥1.5.0 allows 100 000.
export const MAX_SCENARIOS_LENGTH = 100_000;

/** `crowdsec/v1.4.6-…` → `v1.4.6-…`; anything that doesn't split on `/` into exactly two parts is refused. */
export const machineVersionFromUserAgent = (userAgent: string | undefined): string | null => {
  const parts = (userAgent ?? '').split('/');
  return parts.length === 2 ? parts[1] : null;
};

export const decideMachine = (command: MachineCommand, state: MachineState, now: Date): MachineEvent[] => {
  const at = now.toISOString();
  switch (command.type) {
    case 'RegisterMachine': {
      const { machineId, passwordHash, ipAddress, validated, sameCredentials } = command.data;
      if (state) {
        // A pod that registers again after a restart with the name and password it has is the same agent: it
        // succeeds (the reference refuses it, and the agent crash-loops); a registration it is allowed to validate
        // validates it. Anyone else is refused the name.
        if (!sameCredentials || state.authType !== 'password') {
          throw new MachineAlreadyExistsError(machineId);
        }
        return validated && !state.validated ? [{ type: 'MachineValidated', data: { machineId, at } }] : [];
      }
      return [
        {
          type: 'MachineRegistered',
          data: { machineId, passwordHash, ipAddress, authType: 'password', validated, at },
        },
      ];
    }
    case 'ValidateMachine': {
      const machine = existing(state, command.data.machineId);
      // Validating twice is harmless (cscli says nothing either); record nothing new.
      return machine.validated ? [] : [{ type: 'MachineValidated', data: { machineId: machine.machineId, at } }];
    }
    case 'LogIn': {
      // Order of checks as the reference's Authenticator (middlewares/v1/jwt.go).
      const machine = existing(state, command.data.machineId);
      if (machine.authType !== 'password') {
        throw new MachineAuthTypeMismatchError(machine.machineId);
      }
      if (!machine.validated) {
        throw new MachineNotValidatedError(machine.machineId);
      }
      if (!command.data.passwordMatches) {
        throw new InvalidCredentialsError();
      }
      return [loggedIn(machine.machineId, machine.scenarios, command.data, at)];
    }
    case 'LogInWithCertificate': {
      // middlewares/v1/jwt.go: the machine is `<CN>@<IP>`, created validated with auth type tls on first login.
      const { machineId, ipAddress } = command.data;
      if (state && state.authType !== 'tls') {
        throw new MachineAuthTypeMismatchError(machineId, 'tls');
      }
      const login = loggedIn(machineId, state?.scenarios ?? null, command.data, at);
      return state
        ? [login]
        : [
            {
              type: 'MachineRegistered',
              // No password: decide() refuses a password login to a tls machine before any comparison.
              data: { machineId, passwordHash: '', ipAddress, authType: 'tls', validated: true, at },
            },
            login,
          ];
    }
    case 'RecordHeartbeat': {
      // The reference answers 200 even for a machine that no longer exists: nothing to record then.
      return state ? [{ type: 'MachineHeartbeatRecorded', data: { machineId: state.machineId, at } }] : [];
    }
    case 'DeleteMachine': {
      const machine = existing(state, command.data.machineId);
      return [{ type: 'MachineDeleted', data: { machineId: machine.machineId, at } }];
    }
    case 'ImportMachine': {
      const { machine } = command.data;
      if (state) {
        // Another machine under this name (other credentials) is not replaced.
        if (!sameImportedMachine(state, machine)) {
          throw new MachineAlreadyExistsError(machine.machineId);
        }
        return [];
      }
      return [{ type: 'MachineImported', data: { ...machine, at } }];
    }
    default:
      return assertNever(command);
  }
};

export const evolveMachine = (state: MachineState, event: MachineEvent): MachineState => {
  switch (event.type) {
    case 'MachineRegistered': {
      const d = event.data;
      return {
        machineId: d.machineId,
        passwordHash: d.passwordHash,
        ipAddress: d.ipAddress,
        authType: d.authType,
        validated: d.validated,
        version: null,
        scenarios: null,
        createdAt: d.at,
        updatedAt: d.at,
        lastPush: null,
        lastHeartbeat: null,
      };
    }
    case 'MachineValidated':
      return state && { ...state, validated: true, updatedAt: event.data.at };
    case 'MachineLoggedIn': {
      const d = event.data;
      return state && { ...state, ipAddress: d.ipAddress, version: d.version, scenarios: d.scenarios, updatedAt: d.at };
    }
    case 'MachineHeartbeatRecorded':
      return state && { ...state, lastHeartbeat: event.data.at };
    case 'MachineDeleted':
      return null;
    case 'MachineImported': {
      const m = event.data;
      return {
        machineId: m.machineId,
        passwordHash: m.passwordHash,
        ipAddress: m.ipAddress,
        authType: m.authType,
        validated: m.validated,
        version: m.version,
        scenarios: m.scenarios,
        createdAt: m.createdAt,
        updatedAt: event.data.at,
        lastPush: m.lastPush,
        lastHeartbeat: m.lastHeartbeat,
      };
    }
    default:
      return assertNever(event);
  }
};

/** The checks every login shares after authentication, and its event. */
const loggedIn = (
  machineId: string,
  previousScenarios: string | null,
  login: { ipAddress: string; userAgent: string | undefined; scenarios: readonly string[] | null },
  at: string,
): MachineEvent => {
  const scenarios = login.scenarios?.length ? login.scenarios.join(',') : null;
  if (scenarios && scenarios.length > MAX_SCENARIOS_LENGTH) {
    throw new InvalidCredentialsError();
  }
  const version = machineVersionFromUserAgent(login.userAgent);
  if (version === null) {
    throw new InvalidCredentialsError();
  }
  // Scenarios are only replaced when the login carries some, as the reference does.
  return {
    type: 'MachineLoggedIn',
    data: { machineId, ipAddress: login.ipAddress, version, scenarios: scenarios ?? previousScenarios, at },
  };
};

const existing = (state: MachineState, machineId: string): Machine => {
  if (!state) {
    throw new MachineNotFoundError(machineId);
  }
  return state;
};
