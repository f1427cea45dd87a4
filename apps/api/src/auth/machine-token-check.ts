import { CLOCK, CREDENTIAL_CHANGES, FindMachine, type Clock, type CredentialChanges } from '@lapi/application';
import type { Machine } from '@lapi/domain';
import { Inject, Injectable } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { API_OPTIONS, type ApiOptions } from '../api-options';
import { JwtAuthError } from '../http/http-errors';
import { ExpiringCache, MACHINE_CACHE_TTL_MS } from './expiring-cache';
import type { VerifiedClaims } from './token.service';

// A missing machine may be added any moment: asked again sooner, and only the latest few remembered.
const MACHINE_CACHE_POLICY = {
  ttlMs: MACHINE_CACHE_TTL_MS,
  maxEntries: 100_000,
  misses: { ttlMs: 1_000, maxEntries: 1_000 },
} as const;

/** What a token's machine must still be for the token to be honoured; null when it does not exist. */
export type MachineStanding = Pick<Machine, 'validated' | 'authType'> & {
  /** Its registration, in whole seconds as tokens' orig_iat. */
  readonly registeredS: number;
};

/**
 * Why a token whose signature and exp are good must still be refused, or null. The token must come from a login
 * to the machine as it exists now: a machine deleted and registered again under its name does not inherit the old
 * one's tokens (orig_iat is in whole seconds, so a token of the same second as the registration is honoured: only
 * a login, deletion and registration all within one second escape this); and a certificate login's token is no
 * better than its certificate.
 */
export function tokenRefusal(
  claims: VerifiedClaims,
  machine: MachineStanding | null,
  isRevoked: (serial: string) => boolean,
): string | null {
  if (!machine || claims.orig_iat < machine.registeredS) {
    return 'token revoked: machine deleted';
  }
  if (!machine.validated) {
    return `machine ${claims.id} not validated`;
  }
  if (machine.authType === 'tls') {
    // A token issued before tokens carried their certificate: the agent logs in again, with its certificate.
    if (typeof claims.cert_serial !== 'string') {
      return 'token revoked: no client certificate';
    }
    if (isRevoked(claims.cert_serial)) {
      return 'token revoked: client certificate revoked';
    }
  }
  return null;
}

/**
 * Whether a valid JWT's machine still honours it, for every machine route and /v1/refresh_token (the reference
 * never checks: a deleted machine's token kept its full hour). Machines are cached MACHINE_CACHE_TTL_MS, so an
 * agent's pushes cost no database round trip. A deletion announced by any process (CredentialChanges) is seen at
 * once; a login or validation through this process too (forget).
 */
@Injectable()
export class MachineTokenCheck {
  private readonly machines = new ExpiringCache<MachineStanding>(MACHINE_CACHE_POLICY);

  constructor(
    private readonly queries: QueryBus,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(API_OPTIONS) private readonly options: ApiOptions,
    @Inject(CREDENTIAL_CHANGES) credentials: CredentialChanges,
  ) {
    credentials.follow((change) => change.kind === 'machine-deleted' && this.forget(change.machineId));
  }

  /** Throws the 401 when the token must be refused. */
  async assertHonoured(claims: VerifiedClaims): Promise<void> {
    const machine = await this.machines.get(
      claims.id,
      async () => standingOf(await this.queries.execute(new FindMachine(claims.id))),
      () => this.clock.now().getTime(),
    );
    // Without certificate authentication configured there is no CRL to consult.
    const refusal = tokenRefusal(claims, machine, this.options.clientCertificates?.agents.isRevoked ?? (() => false));
    if (refusal !== null) {
      throw new JwtAuthError(refusal);
    }
  }

  /** After this process logged in or validated the machine (or anyone deleted it). */
  forget(machineId: string): void {
    this.machines.delete(machineId);
  }

  /** After an admin change in this process. */
  forgetAll(): void {
    this.machines.clear();
  }
}

const standingOf = (machine: Machine | null): MachineStanding | null =>
  machine && {
    validated: machine.validated,
    authType: machine.authType,
    registeredS: Math.floor(Date.parse(machine.createdAt) / 1000),
  };
