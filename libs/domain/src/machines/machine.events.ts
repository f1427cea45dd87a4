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
/**
 * A machine brought over from a CrowdSec database (`lapi import-crowdsec`) with its bcrypt hash as stored there, so
 * the same password keeps working; validated or not as it was, with what that database knew of it.
 */
export type MachineImported = DomainEvent<'MachineImported', ImportedMachine & { at: string }>;

/** A machine as the CrowdSec database held it (times ISO; `createdAt` is the source's). */
export interface ImportedMachine {
  readonly machineId: string;
  readonly passwordHash: string;
  readonly ipAddress: string;
  readonly authType: MachineAuthType;
  readonly validated: boolean;
  readonly version: string | null;
  readonly scenarios: string | null;
  readonly createdAt: string;
  readonly lastPush: string | null;
  readonly lastHeartbeat: string | null;
}

export type MachineEvent =
  MachineRegistered | MachineValidated | MachineLoggedIn | MachineHeartbeatRecorded | MachineDeleted | MachineImported;

export const MACHINE_EVENT_TYPES: readonly MachineEvent['type'][] = [
  'MachineRegistered',
  'MachineValidated',
  'MachineLoggedIn',
  'MachineHeartbeatRecorded',
  'MachineDeleted',
  'MachineImported',
];

export const machineStreamId = (machineId: string): string => `machine-${machineId}`;
