import { assertNever } from '../shared/errors';
import { BouncerAlreadyExistsError, BouncerAuthTypeMismatchError, BouncerNotFoundError } from './bouncer.errors';
import type { BouncerAuthType, BouncerEvent, ImportedBouncer } from './bouncer.events';

export interface Bouncer {
  readonly name: string;
  readonly apiKeyHash: string;
  readonly authType: BouncerAuthType;
  readonly ipAddress: string;
  readonly type: string;
  readonly version: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /**
   * The last pull recorded by events before pulls stopped being events (it no longer moves): a bouncer's last pull is
   * the latest of this and its processes' stream positions and lookups (`latestPull`).
   */
  readonly lastPull: string | null;
  /** The other processes using its key (the first one seen is the bouncer itself), most recently changed last. */
  readonly instances: readonly BouncerInstance[];
}

export interface BouncerInstance {
  /** `<bouncer>@<ip>`, or `<bouncer>@<instance id>` when the process names itself (INSTANCE_ID_HEADER). */
  readonly name: string;
  readonly ipAddress: string;
  readonly type: string;
  readonly version: string;
  readonly firstSeen: string;
  readonly updatedAt: string;
}

export type BouncerState = Bouncer | null;

/** What a request tells about the bouncer that sent it. */
export interface BouncerSighting {
  readonly ipAddress: string;
  readonly userAgent: string | undefined;
  /** What the process calls itself (INSTANCE_ID_HEADER), when it does. */
  readonly instanceId?: string;
}

/**
 * The header a process sharing its bouncer's key may send to be told apart from the others behind the same address
 * (replicas of an ingress controller behind NAT); without it processes are told apart by address, as the reference.
 */
export const INSTANCE_ID_HEADER = 'x-lapi-instance-id';
export const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

// Instances kept per bouncer: pods restarted under new addresses leave old ones behind; the least recently changed
// go first (a returning one is recorded again, and its stream position is still there).
export const MAX_INSTANCES = 256;

// New instances a bouncer may add per window, counted on its record (so across replicas). Legitimate ones are rare
// (a rollout of a fleet); a client inventing an id, or an address, per request would otherwise write an event each
// time. Past the limit the request is served as usual, with its own stream position; only the listing waits: the
// instance is recorded by a later sighting (its next pull, a minute later) once the window has room.
export const MAX_NEW_INSTANCES_PER_WINDOW = 10;
export const NEW_INSTANCE_WINDOW_MS = 60_000;

/** Whether the bouncer added MAX_NEW_INSTANCES_PER_WINDOW instances in the last window. */
const newInstancesExhausted = (bouncer: Bouncer, now: Date): boolean =>
  bouncer.instances.filter((i) => now.getTime() - Date.parse(i.firstSeen) < NEW_INSTANCE_WINDOW_MS).length >=
  MAX_NEW_INSTANCES_PER_WINDOW;

/**
 * Which process of the bouncer sent a request, as reference ≥1.6.5 picks the row: the address the bouncer was
 * first seen from (or any, before the first sighting) is the bouncer itself; another address is `<name>@<ip>`; a
 * process that names itself is `<name>@<id>`. The name is also the key of the process's stream position, so each
 * one is told every change once.
 */
export const bouncerInstanceName = (
  bouncer: Pick<Bouncer, 'name' | 'ipAddress'>,
  sighting: Pick<BouncerSighting, 'ipAddress' | 'instanceId'>,
): string => {
  if (sighting.instanceId !== undefined) {
    return `${bouncer.name}@${sighting.instanceId}`;
  }
  return bouncer.ipAddress === '' || bouncer.ipAddress === sighting.ipAddress
    ? bouncer.name
    : `${bouncer.name}@${sighting.ipAddress}`;
};

/**
 * The key of a process's stream position: the bouncer's name for the bouncer itself, else its name, U+001F and the
 * instance's suffix — a character no bouncer name or instance id holds, so an instance `fw@10.0.0.2` never shares a
 * position with a bouncer named `fw@10.0.0.2` (a certificate bouncer is `<CN>@<ip>`).
 */
export const instanceStreamKey = (bouncerName: string, instanceName: string): string =>
  instanceName === bouncerName ? bouncerName : `${bouncerName}\u001f${instanceName.slice(bouncerName.length + 1)}`;

/** The bouncer a stream position key (instanceStreamKey) belongs to. */
export const positionOwner = (key: string): string => key.split('\u001f', 1)[0];

/** The keys of a bouncer's positions: its own and each recorded instance's (its last pull is their latest). */
export const positionKeys = (bouncer: { name: string; instances: readonly { name: string }[] }): string[] => [
  bouncer.name,
  ...bouncer.instances.map((i) => instanceStreamKey(bouncer.name, i.name)),
];

/**
 * A bouncer's (or one process's) last pull: the latest of the times given (ISO), null when none. The times are its
 * `lastPull` recorded by events, and the times of its processes' stream positions and decision lookups.
 */
export const latestPull = (times: Iterable<string | null | undefined>): string | null => {
  let latest: string | null = null;
  for (const t of times) {
    if (t && (latest === null || Date.parse(t) > Date.parse(latest))) {
      latest = t;
    }
  }
  return latest;
};

/** A bouncer's last pull: the latest of its own (recorded by events) and its processes' (`pulls`, by position key). */
export const lastPullOf = (b: Bouncer, pulls: ReadonlyMap<string, string>): string | null =>
  latestPull([b.lastPull, ...positionKeys(b).map((key) => pulls.get(key))]);

/**
 * The bouncers none of whose processes pulled since `since` (`bouncers prune`, as cscli ≥1.5): a bouncer's last
 * pull is the latest of its own and its processes' (`pulls`, by position key); one that never pulled counts from
 * its creation, as cscli does. Each with that last pull (null: never).
 */
export const inactiveBouncers = (
  bouncers: readonly Bouncer[],
  pulls: ReadonlyMap<string, string>,
  since: Date,
): { name: string; lastPull: string | null }[] =>
  bouncers.flatMap((b) => {
    const lastPull = lastPullOf(b, pulls);
    return Date.parse(lastPull ?? b.createdAt) < since.getTime() ? [{ name: b.name, lastPull }] : [];
  });

export type BouncerCommand =
  | { type: 'AddBouncer'; data: { name: string; apiKeyHash: string } }
  /** A client certificate the server accepted: its bouncer is added on first use (api_key.go). */
  | { type: 'AddCertificateBouncer'; data: { name: string; apiKeyHash: string } }
  | { type: 'RecordBouncerSighting'; data: { name: string; sighting: BouncerSighting } }
  | { type: 'DeleteBouncer'; data: { name: string } }
  /** From a CrowdSec database: the same bouncer again (same key hash and auth type) changes nothing. */
  | { type: 'ImportBouncer'; data: { bouncer: ImportedBouncer } };

/** Whether an existing bouncer is the imported one (same key): importing it again changes nothing. */
export const sameImportedBouncer = (state: Bouncer, imported: ImportedBouncer): boolean =>
  state.apiKeyHash === imported.apiKeyHash && state.authType === imported.authType;

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
      // Only a change of identity is an event; a pull is not (its time is its stream position's, or its lookup's).
      const bouncer = existing(state, command.data.name);
      const { ipAddress, userAgent } = command.data.sighting;
      const { type, version } = bouncerTypeAndVersion(userAgent);
      const instance = bouncerInstanceName(bouncer, command.data.sighting);
      if (instance === bouncer.name) {
        const identityChanged = bouncer.ipAddress !== ipAddress || bouncer.type !== type || bouncer.version !== version;
        return identityChanged
          ? [
              {
                type: 'BouncerSeen',
                data: { name: bouncer.name, ipAddress, type, version, lastPull: bouncer.lastPull, at },
              },
            ]
          : [];
      }
      const known = bouncer.instances.find((i) => i.name === instance);
      const changed = known
        ? known.ipAddress !== ipAddress || known.type !== type || known.version !== version
        : !newInstancesExhausted(bouncer, now);
      return changed
        ? [{ type: 'BouncerInstanceSeen', data: { name: bouncer.name, instance, ipAddress, type, version, at } }]
        : [];
    }
    case 'DeleteBouncer': {
      const bouncer = existing(state, command.data.name);
      return [{ type: 'BouncerDeleted', data: { name: bouncer.name, at } }];
    }
    case 'ImportBouncer': {
      const { bouncer } = command.data;
      if (state) {
        // Another bouncer under this name (another key) is not replaced.
        if (!sameImportedBouncer(state, bouncer)) {
          throw new BouncerAlreadyExistsError(bouncer.name);
        }
        return [];
      }
      return [{ type: 'BouncerImported', data: { ...bouncer, at } }];
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
        instances: [],
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
    case 'BouncerInstanceSeen': {
      const d = event.data;
      const known = state?.instances.find((i) => i.name === d.instance);
      const instance: BouncerInstance = {
        name: d.instance,
        ipAddress: d.ipAddress,
        type: d.type,
        version: d.version,
        firstSeen: known?.firstSeen ?? d.at,
        updatedAt: d.at,
      };
      return (
        state && {
          ...state,
          instances: [...state.instances.filter((i) => i !== known), instance].slice(-MAX_INSTANCES),
        }
      );
    }
    case 'BouncerDeleted':
      return null;
    case 'BouncerImported': {
      const d = event.data;
      return {
        name: d.name,
        apiKeyHash: d.apiKeyHash,
        authType: d.authType,
        ipAddress: d.ipAddress,
        type: d.type,
        version: d.version,
        createdAt: d.createdAt,
        updatedAt: d.at,
        lastPull: d.lastPull,
        instances: [],
      };
    }
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
