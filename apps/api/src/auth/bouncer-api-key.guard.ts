import { CREDENTIAL_CHANGES, RecordBouncerSighting, type CredentialChanges } from '@lapi/application';
import {
  bouncerInstanceName,
  INSTANCE_ID,
  INSTANCE_ID_HEADER,
  LAST_PULL_RESOLUTION_MS,
  type Bouncer,
} from '@lapi/domain';
import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { API_OPTIONS, type ApiOptions } from '../api-options';
import { clientIp } from '../http/client-ip';
import { accessForbidden, LapiHttpError } from '../http/http-errors';
import { BouncerKeys } from './bouncer-keys';
import { SightingMemo } from './sighting-memo';
import { bouncerByCertificate, certificateBouncerCache } from './tls/certificate-bouncer';

/** `bouncerInstance`: which of the processes sharing the key sent it (domain bouncerInstanceName). */
export type RequestWithBouncer = FastifyRequest & { bouncer?: Bouncer; bouncerInstance?: string };

/** Bouncer routes: `X-Api-Key` or 403 `{"message":"access forbidden"}`; records the bouncer's IP, type and pulls. */
@Injectable()
export class BouncerApiKeyGuard implements CanActivate {
  private readonly logger = new Logger(BouncerApiKeyGuard.name);
  private readonly sightings = new SightingMemo(LAST_PULL_RESOLUTION_MS);
  private readonly certificateBouncers = certificateBouncerCache();

  constructor(
    private readonly keys: BouncerKeys,
    private readonly commands: CommandBus,
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
        await this.recordSighting(byCertificate, request);
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
      const instanceId = instanceIdOf(request);
      await this.recordSighting(bouncer, request, instanceId);
      // Until its first sighting is stored a bouncer has no address: read it again once recorded, so that two
      // processes starting together on one key are told apart from their first pull.
      let current = bouncer;
      if (bouncer.ipAddress === '') {
        // The cached record has no address either: the next request loads the recorded one too.
        current = (await this.keys.reload(apiKey)) ?? bouncer;
      }
      request.bouncerInstance = bouncerInstanceName(current, { ipAddress: clientIp(request), instanceId });
    }
    return true;
  }

  /** Drops every cached key (after an admin change in this process, or a bouncer deleted anywhere). */
  forgetKeys(): void {
    this.keys.clear();
    this.certificateBouncers.clear();
  }

  private async recordSighting(bouncer: Bouncer, request: FastifyRequest, instanceId?: string): Promise<void> {
    const ua = request.headers['user-agent'];
    const ip = clientIp(request);
    const pulled = request.url.startsWith('/v1/decisions');
    // Keyed by name and key: a bouncer deleted and added again under its name is recorded afresh; and by process,
    // so that processes sharing the key do not make each other look changed.
    const who = `${bouncer.name}\0${bouncer.apiKeyHash}\0${instanceId ?? ip}`;
    const now = Date.now();
    if (this.sightings.unchanged(who, ip, ua ?? '', pulled, now)) {
      return;
    }
    try {
      await this.commands.execute(
        new RecordBouncerSighting(
          bouncer.name,
          { ipAddress: ip, userAgent: ua, pulled, instanceId },
          { actor: { kind: 'bouncer', id: bouncer.name }, requestId: String(request.id), clientIp: ip },
        ),
      );
      this.sightings.recorded(who, ip, ua ?? '', now);
    } catch (error) {
      // Bookkeeping must not deny a bouncer its decisions.
      this.logger.warn(
        `could not record bouncer ${bouncer.name}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
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
