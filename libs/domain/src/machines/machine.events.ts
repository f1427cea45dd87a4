import type { DomainEvent } from '../shared/event';

export type MachineAuthType = 'password' | 'tls';

export type MachineRegistered = DomainEvent<
  'MachineRegistered',
  {
    machineId: string;
    /** bcrypt hash (cost 10), never the password. */
    passwordHash: string;
    ipAddress: string;
    authType: MachineAuthType;
    /** True when an admin created it (lapi machines add); agents that register wait for validation. */
    validated: boolean;
    at: string;
  }
>;
export type MachineValidated = DomainEvent<'MachineValidated', { machineId: string; at: string }>;
export type MachineLoggedIn = DomainEvent<
  'MachineLoggedIn',
  { machineId: string; ipAddress: string; version: string; scenarios: string | null; at: string }
>;
export type MachineHeartbeatRecorded = DomainEvent<'MachineHeartbeatRecorded', { machineId: string; at: string }>;
export type MachineDeleted = DomainEvent<'MachineDeleted', { machineId: string; at: string }>;

export type MachineEvent =
  MachineRegistered | MachineValidated | MachineLoggedIn | MachineHeartbeatRecorded | MachineDeleted;

export const MACHINE_EVENT_TYPES: readonly MachineEvent['type'][] = [
  'MachineRegistered',
  'MachineValidated',
  'MachineLoggedIn',
  'MachineHeartbeatRecorded',
  'MachineDeleted',
];

export const machineStreamId = (machineId: string): string => `machine-${machineId}`;
