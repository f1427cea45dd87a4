import type { DomainEvent } from '../shared/event';

export type BouncerAuthType = 'api-key' | 'tls';

export type BouncerAdded = DomainEvent<
  'BouncerAdded',
  {
    name: string;
    /** Lowercase hex SHA-512 of the API key, as the reference stores it; the key itself is never kept. */
    apiKeyHash: string;
    /** Absent in events written before client certificates: those bouncers use API keys. */
    authType?: BouncerAuthType;
    at: string;
  }
>;
/** A bouncer's identity as seen on a request changed, or its last pull is worth recording again. */
export type BouncerSeen = DomainEvent<
  'BouncerSeen',
  { name: string; ipAddress: string; type: string; version: string; lastPull: string | null; at: string }
>;
/**
 * One of several processes sharing the bouncer's key was seen for the first time, or its address, type or version
 * changed (reference ≥1.6.5: a row `<name>@<ip>` per address). Pulls do not record it: its position has the time.
 */
export type BouncerInstanceSeen = DomainEvent<
  'BouncerInstanceSeen',
  { name: string; instance: string; ipAddress: string; type: string; version: string; at: string }
>;
export type BouncerDeleted = DomainEvent<'BouncerDeleted', { name: string; at: string }>;
/**
 * A bouncer brought over from a CrowdSec database (`lapi import-crowdsec`) with its key's hash as stored there
 * (lowercase hex SHA-512 in 1.4.6 and since, as ours), so the same key keeps working.
 */
export type BouncerImported = DomainEvent<'BouncerImported', ImportedBouncer & { at: string }>;

/** A bouncer as the CrowdSec database held it (times ISO; `createdAt` is the source's). */
export interface ImportedBouncer {
  readonly name: string;
  readonly apiKeyHash: string;
  readonly authType: BouncerAuthType;
  readonly ipAddress: string;
  readonly type: string;
  readonly version: string;
  readonly createdAt: string;
  readonly lastPull: string | null;
}

export type BouncerEvent = BouncerAdded | BouncerSeen | BouncerInstanceSeen | BouncerDeleted | BouncerImported;

export const BOUNCER_EVENT_TYPES: readonly BouncerEvent['type'][] = [
  'BouncerAdded',
  'BouncerSeen',
  'BouncerInstanceSeen',
  'BouncerDeleted',
  'BouncerImported',
];

export const bouncerStreamId = (name: string): string => `bouncer-${name}`;
