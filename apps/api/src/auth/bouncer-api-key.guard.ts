import { AuthenticateBouncer, RecordBouncerSighting } from '@lapi/application';
import { LAST_PULL_RESOLUTION_MS, type Bouncer } from '@lapi/domain';
import { Inject, Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { API_OPTIONS, type ApiOptions } from '../api-options';
import { clientIp } from '../http/client-ip';
import { accessForbidden } from '../http/http-errors';
import { ExpiringCache } from './expiring-cache';
import { SightingMemo } from './sighting-memo';
import { bouncerByCertificate } from './tls/certificate-bouncer';

// How long a key's bouncer is trusted without asking the database (see ExpiringCache): a deleted bouncer is refused
// by every replica within KEY_TTL_MS.
const KEY_TTL_MS = 5_000;
const UNKNOWN_KEY_TTL_MS = 1_000;

export type RequestWithBouncer = FastifyRequest & { bouncer?: Bouncer };

/** Bouncer routes: `X-Api-Key` or 403 `{"message":"access forbidden"}`; records the bouncer's IP, type and pulls. */
@Injectable()
export class BouncerApiKeyGuard implements CanActivate {
  private readonly logger = new Logger(BouncerApiKeyGuard.name);
  private readonly keys = new ExpiringCache<Bouncer | null>((b) => (b ? KEY_TTL_MS : UNKNOWN_KEY_TTL_MS));
  private readonly sightings = new SightingMemo(LAST_PULL_RESOLUTION_MS);

  constructor(
    private readonly queries: QueryBus,
    private readonly commands: CommandBus,
    @Inject(API_OPTIONS) private readonly options: ApiOptions,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithBouncer>();
    // A client certificate, when one was sent, decides alone (the reference ignores X-Api-Key then).
    const byCertificate = await bouncerByCertificate(this.commands, this.options.clientCertificates, request);
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
    const bouncer = await this.keys.get(apiKey, () => this.queries.execute(new AuthenticateBouncer(apiKey)));
    if (!bouncer) {
      throw accessForbidden();
    }
    request.bouncer = bouncer;
    // HEAD only checks the key (reference ≥1.6.5), so the AppSec probe does not rewrite the bouncer's identity.
    if (request.method !== 'HEAD') {
      await this.recordSighting(bouncer, request);
    }
    return true;
  }

  /** Drops every cached key (after an admin change in this process). */
  forgetKeys(): void {
    this.keys.clear();
  }

  private async recordSighting(bouncer: Bouncer, request: FastifyRequest): Promise<void> {
    const ua = request.headers['user-agent'];
    const ip = clientIp(request);
    const pulled = request.url.startsWith('/v1/decisions');
    // Keyed by name and key: a bouncer deleted and added again under its name is recorded afresh.
    const who = `${bouncer.name}\0${bouncer.apiKeyHash}`;
    const now = Date.now();
    if (this.sightings.unchanged(who, ip, ua ?? '', pulled, now)) {
      return;
    }
    try {
      await this.commands.execute(
        new RecordBouncerSighting(
          bouncer.name,
          { ipAddress: ip, userAgent: ua, pulled },
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
