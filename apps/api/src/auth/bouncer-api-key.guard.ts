import { CREDENTIAL_CHANGES, type CredentialChanges } from '@lapi/application';
import { bouncerInstanceName, INSTANCE_ID, INSTANCE_ID_HEADER, type Bouncer } from '@lapi/domain';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { API_OPTIONS, type ApiOptions } from '../api-options';
import { clientIp } from '../http/client-ip';
import { accessForbidden, LapiHttpError } from '../http/http-errors';
import { BouncerKeys } from './bouncer-keys';
import { BouncerSightings } from './bouncer-sightings';
import { setBounded } from './expiring-cache';
import { bouncerByCertificate, certificateBouncerCache } from './tls/certificate-bouncer';

/** `bouncerInstance`: which of the processes sharing the key sent it (domain bouncerInstanceName). */
export type RequestWithBouncer = FastifyRequest & { bouncer?: Bouncer; bouncerInstance?: string };

// Bouncers whose first address this replica chose while none was recorded yet (see `named`).
const MAX_FIRST_ADDRESSES = 10_000;

/**
 * Bouncer routes: `X-Api-Key` or 403 `{"message":"access forbidden"}`; records the bouncer's IP, type and version.
 * Nothing here makes the request wait for a write: a change of identity is recorded in the background, and a pull
 * is not recorded at all (a bouncer's last pull is its processes' stream positions' and lookups' times).
 */
@Injectable()
export class BouncerApiKeyGuard implements CanActivate {
  /** Bouncer (name and key hash) → the address of its first process seen here, until its record has one. */
  private readonly firstAddresses = new Map<string, string>();
  private readonly certificateBouncers = certificateBouncerCache();

  constructor(
    private readonly keys: BouncerKeys,
    private readonly commands: CommandBus,
    private readonly sightings: BouncerSightings,
    @Inject(API_OPTIONS) private readonly options: ApiOptions,
    @Inject(CREDENTIAL_CHANGES) credentials: CredentialChanges,
  ) {
    // Deletions are rare: dropping every key is simpler than finding the deleted bouncer's, and as safe.
    credentials.follow((change) => change.kind === 'bouncer-deleted' && this.forgetKeys());
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithBouncer>();
    // A client certificate, when one was sent, decides alone (the reference ignores X-Api-Key then).
    const byCertificate = await bouncerByCertificate(
      this.commands,
      this.options.clientCertificates,
      request,
      this.certificateBouncers,
    );
    if (byCertificate) {
      request.bouncer = byCertificate;
      if (request.method !== 'HEAD') {
        this.named(byCertificate, request, undefined, () => this.certificateBouncers.delete(byCertificate.name));
      }
      return true;
    }
    const header = request.headers['x-api-key'];
    const apiKey = Array.isArray(header) ? header[0] : header;
    if (!apiKey) {
      throw accessForbidden();
    }
    const bouncer = await this.keys.find(apiKey);
    if (!bouncer) {
      throw accessForbidden();
    }
    request.bouncer = bouncer;
    // HEAD only checks the key (reference ≥1.6.5), so the AppSec probe does not rewrite the bouncer's identity.
    if (request.method !== 'HEAD') {
      this.named(bouncer, request, instanceIdOf(request), () => this.keys.refresh(apiKey));
    }
    return true;
  }

  /** Drops every cached key (after an admin change in this process, or a bouncer deleted anywhere). */
  forgetKeys(): void {
    this.keys.clear();
    this.certificateBouncers.clear();
  }

  /**
   * Names the process that sent the request, and records what it tells of the bouncer (in the background).
   * `reread`: reads the bouncer's record again once a sighting of it is recorded, as the cached one has no address.
   */
  private named(bouncer: Bouncer, request: RequestWithBouncer, instanceId: string | undefined, reread: () => void) {
    const ipAddress = clientIp(request);
    const id = `${bouncer.name}\0${bouncer.apiKeyHash}`;
    let named = bouncer;
    if (bouncer.ipAddress === '') {
      // No address recorded yet (its first sighting is on its way): the first process seen here is the bouncer
      // itself, as the domain will record it, so two processes starting together on one key are told apart from
      // their first pull without waiting for the record.
      const first = this.firstAddresses.get(id) ?? ipAddress;
      setBounded(this.firstAddresses, id, first, MAX_FIRST_ADDRESSES);
      named = { ...bouncer, ipAddress: first };
    } else {
      this.firstAddresses.delete(id);
    }
    request.bouncerInstance = bouncerInstanceName(named, { ipAddress, instanceId });
    this.sightings.record(bouncer, request, ipAddress, instanceId, bouncer.ipAddress === '' ? reread : undefined);
  }
}

/** The instance id a process sharing its key sends, if any; a malformed one is the client's mistake. */
const instanceIdOf = (request: FastifyRequest): string | undefined => {
  const header = request.headers[INSTANCE_ID_HEADER];
  const id = Array.isArray(header) ? header[0] : header;
  if (id !== undefined && !INSTANCE_ID.test(id)) {
    throw new LapiHttpError(400, `invalid ${INSTANCE_ID_HEADER} header: 1 to 64 letters, digits, ".", "_", ":" or "-"`);
  }
  return id;
};
