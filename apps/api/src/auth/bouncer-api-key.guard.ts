import { AuthenticateBouncer, RecordBouncerSighting } from '@lapi/application';
import type { Bouncer } from '@lapi/domain';
import { Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { clientIp } from '../http/client-ip';
import { accessForbidden } from '../http/http-errors';

export type RequestWithBouncer = FastifyRequest & { bouncer?: Bouncer };

/** Bouncer routes: `X-Api-Key` or 403 `{"message":"access forbidden"}`; records the bouncer's IP, type and pulls. */
@Injectable()
export class BouncerApiKeyGuard implements CanActivate {
  private readonly logger = new Logger(BouncerApiKeyGuard.name);

  constructor(
    private readonly queries: QueryBus,
    private readonly commands: CommandBus,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<RequestWithBouncer>();
    const header = request.headers['x-api-key'];
    const apiKey = Array.isArray(header) ? header[0] : header;
    if (!apiKey) {
      throw accessForbidden();
    }
    const bouncer = await this.queries.execute(new AuthenticateBouncer(apiKey));
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

  private async recordSighting(bouncer: Bouncer, request: FastifyRequest): Promise<void> {
    const ua = request.headers['user-agent'];
    try {
      await this.commands.execute(
        new RecordBouncerSighting(
          bouncer.name,
          { ipAddress: clientIp(request), userAgent: ua, pulled: request.url.startsWith('/v1/decisions') },
          { actor: { kind: 'bouncer', id: bouncer.name }, requestId: String(request.id), clientIp: clientIp(request) },
        ),
      );
    } catch (error) {
      // Bookkeeping must not deny a bouncer its decisions.
      this.logger.warn(
        `could not record bouncer ${bouncer.name}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }
}
