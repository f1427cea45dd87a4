import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { extractToken } from './token-extractor';
import { TokenService, type MachineIdentity } from './token.service';

/** Machine routes: a valid JWT or the reference's 401 body. */
@Injectable()
export class MachineJwtGuard implements CanActivate {
  constructor(private readonly tokens: TokenService) {}

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: MachineIdentity }>();
    request.user = this.tokens.authenticate(extractToken(request));
    return true;
  }
}
