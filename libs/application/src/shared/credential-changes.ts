import type Redis from 'ioredis';

/** A credential that stopped existing: API processes drop what they cached of it. */
export type CredentialChange =
  | { readonly kind: 'machine-deleted'; readonly machineId: string }
  | { readonly kind: 'bouncer-deleted'; readonly name: string };

/**
 * How a deletion reaches every API process at once rather than when its cache entry expires (5 s, the bound that
 * remains when the announcement is lost). Announced by the deletion's handler after its commit; never rejects: a
 * deletion stands whether or not it could be announced.
 */
export interface CredentialChanges {
  announce(change: CredentialChange): Promise<void>;
  /** Calls `listener` with every change announced, by this process or (in a cluster) any other. */
  follow(listener: (change: CredentialChange) => void): void;
}
export const CREDENTIAL_CHANGES = Symbol('CREDENTIAL_CHANGES');

/** One process (embedded mode; the CLI over PGlite): the changes go to this process's own followers. */
export class LocalCredentialChanges implements CredentialChanges {
  private readonly listeners: ((change: CredentialChange) => void)[] = [];

  announce(change: CredentialChange): Promise<void> {
    this.listeners.forEach((listener) => listener(change));
    return Promise.resolve();
  }

  follow(listener: (change: CredentialChange) => void): void {
    this.listeners.push(listener);
  }
}

// A publish waiting on a Redis that is away would hold the deletion's caller: past this it is given up.
const PUBLISH_TIMEOUT_MS = 1_000;

/**
 * The cluster: changes are published on a Redis channel (under the deployment's prefix) that every API replica
 * follows, so the worker's and the CLI's deletions reach them too; the announcing process's followers are told at
 * once. A lost publish is logged, not thrown.
 */
export class RedisCredentialChanges implements CredentialChanges {
  private readonly listeners: ((change: CredentialChange) => void)[] = [];

  constructor(
    private readonly publisher: Redis,
    private readonly channel: string,
    private readonly warn: (message: string) => void,
  ) {}

  async announce(change: CredentialChange): Promise<void> {
    // This process at once, without waiting for its own message to come back.
    this.listeners.forEach((listener) => listener(change));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.publisher.publish(this.channel, JSON.stringify(change)),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${PUBLISH_TIMEOUT_MS} ms`)), PUBLISH_TIMEOUT_MS);
        }),
      ]);
    } catch (error) {
      this.warn(
        `could not announce ${describe(change)} to the other processes (they honour it until their cache expires): ` +
          (error instanceof Error ? error.message : String(error)),
      );
    } finally {
      clearTimeout(timer);
    }
  }

  follow(listener: (change: CredentialChange) => void): void {
    this.listeners.push(listener);
  }

  /** Receives the changes, on a connection of its own in subscriber mode (which may follow other channels too). */
  async listen(subscriber: Redis): Promise<void> {
    subscriber.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) {
        return;
      }
      const change = parseChange(message);
      if (change) {
        this.listeners.forEach((listener) => listener(change));
      }
    });
    await subscriber.subscribe(this.channel);
  }
}

const describe = (change: CredentialChange) =>
  change.kind === 'machine-deleted' ? `machine ${change.machineId} deleted` : `bouncer ${change.name} deleted`;

function parseChange(message: string): CredentialChange | null {
  try {
    const value = JSON.parse(message) as Partial<Record<string, unknown>>;
    if (value.kind === 'machine-deleted' && typeof value.machineId === 'string') {
      return { kind: value.kind, machineId: value.machineId };
    }
    if (value.kind === 'bouncer-deleted' && typeof value.name === 'string') {
      return { kind: value.kind, name: value.name };
    }
  } catch {
    // Not ours: ignored like any other unknown message.
  }
  return null;
}
