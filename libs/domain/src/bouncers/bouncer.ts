import { assertNever } from '../shared/errors';
import { BouncerAlreadyExistsError, BouncerAuthTypeMismatchError, BouncerNotFoundError } from './bouncer.errors';
import type { BouncerAuthType, BouncerEvent } from './bouncer.events';

export interface Bouncer {
  readonly name: string;
  readonly apiKeyHash: string;
  readonly authType: BouncerAuthType;
  readonly ipAddress: string;
  readonly type: string;
  readonly version: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly lastPull: string | null;
}

export type BouncerState = Bouncer | null;

/** What a request tells about the bouncer that sent it. */
export interface BouncerSighting {
  readonly ipAddress: string;
  readonly userAgent: string | undefined;
  /** True for a pull of decisions (moves last_pull); false for other calls. */
  readonly pulled: boolean;
}

export type BouncerCommand =
  | { type: 'AddBouncer'; data: { name: string; apiKeyHash: string } }
  /** A client certificate the server accepted: its bouncer is added on first use (api_key.go). */
  | { type: 'AddCertificateBouncer'; data: { name: string; apiKeyHash: string } }
  | { type: 'RecordBouncerSighting'; data: { name: string; sighting: BouncerSighting } }
  | { type: 'DeleteBouncer'; data: { name: string } };

// last_pull is recorded at most once a minute per bouncer, so a poll every 10 s does not write every time;
// the reference moves it on every pull, and clients only read it through `cscli bouncers list`.
export const LAST_PULL_RESOLUTION_MS = 60_000;

/** `crowdsec-firewall-bouncer/v0.0.25` → type and version; any other shape is the type, version `N/A` (reference). */
export const bouncerTypeAndVersion = (userAgent: string | undefined): { type: string; version: string } => {
  const ua = userAgent ?? '';
  const parts = ua.split('/');
  return parts.length === 2 ? { type: parts[0], version: parts[1] } : { type: ua, version: 'N/A' };
};

export const decideBouncer = (command: BouncerCommand, state: BouncerState, now: Date): BouncerEvent[] => {
  const at = now.toISOString();
  switch (command.type) {
    case 'AddBouncer':
      if (state) {
        throw new BouncerAlreadyExistsError(command.data.name);
      }
      return [{ type: 'BouncerAdded', data: { ...command.data, authType: 'api-key', at } }];
    case 'AddCertificateBouncer':
      if (state && state.authType !== 'tls') {
        throw new BouncerAuthTypeMismatchError(state.name);
      }
      return state ? [] : [{ type: 'BouncerAdded', data: { ...command.data, authType: 'tls', at } }];
    case 'RecordBouncerSighting': {
      const bouncer = existing(state, command.data.name);
      const { ipAddress, userAgent, pulled } = command.data.sighting;
      const { type, version } = bouncerTypeAndVersion(userAgent);
      const identityChanged = bouncer.ipAddress !== ipAddress || bouncer.type !== type || bouncer.version !== version;
      const pullDue =
        pulled &&
        (bouncer.lastPull === null || now.getTime() - Date.parse(bouncer.lastPull) >= LAST_PULL_RESOLUTION_MS);
      if (!identityChanged && !pullDue) {
        return [];
      }
      return [
        {
          type: 'BouncerSeen',
          data: { name: bouncer.name, ipAddress, type, version, lastPull: pullDue ? at : bouncer.lastPull, at },
        },
      ];
    }
    case 'DeleteBouncer': {
      const bouncer = existing(state, command.data.name);
      return [{ type: 'BouncerDeleted', data: { name: bouncer.name, at } }];
    }
    default:
      return assertNever(command);
  }
};

export const evolveBouncer = (state: BouncerState, event: BouncerEvent): BouncerState => {
  switch (event.type) {
    case 'BouncerAdded':
      return {
        name: event.data.name,
        apiKeyHash: event.data.apiKeyHash,
        authType: event.data.authType ?? 'api-key',
        ipAddress: '',
        type: '',
        version: '',
        createdAt: event.data.at,
        updatedAt: event.data.at,
        lastPull: null,
      };
    case 'BouncerSeen': {
      const d = event.data;
      return (
        state && {
          ...state,
          ipAddress: d.ipAddress,
          type: d.type,
          version: d.version,
          lastPull: d.lastPull,
          updatedAt: d.at,
        }
      );
    }
    case 'BouncerDeleted':
      return null;
    default:
      return assertNever(event);
  }
};

const existing = (state: BouncerState, name: string) => {
  if (!state) {
    throw new BouncerNotFoundError(name);
  }
  return state;
};
