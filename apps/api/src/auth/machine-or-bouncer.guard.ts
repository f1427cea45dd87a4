import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { BouncerApiKeyGuard } from './bouncer-api-key.guard';
import { MachineJwtGuard } from './machine-jwt.guard';

/**
 * Routes either kind of client may call (POST /v1/usage-metrics): the reference's dispatch (apiserver/controllers
 * v1 `AuthMethods`): `X-Api-Key` → bouncer; else `Authorization` or a `crowdsec/` User-Agent (an agent using a
 * client certificate logs in for a JWT) → machine; else bouncer (its client certificate, or 403).
 */
@Injectable()
export class MachineOrBouncerGuard implements CanActivate {
  constructor(
    private readonly bouncers: BouncerApiKeyGuard,
    private readonly machines: MachineJwtGuard,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return (isMachineRequest(request) ? this.machines : this.bouncers).canActivate(context) as Promise<boolean>;
  }
}

const isMachineRequest = (request: FastifyRequest): boolean =>
  request.headers['x-api-key'] === undefined &&
  (request.headers.authorization !== undefined || (request.headers['user-agent'] ?? '').startsWith('crowdsec/'));
