import { Injectable, type ExecutionContext } from '@nestjs/common';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { JwtAuthError } from '../http/http-errors';
import { referenceJwtMessage } from './jwt-errors';
import { extractToken } from './token-extractor';
import type { MachineIdentity } from './token.service';

/** Machine routes: a valid JWT or the reference's 401 body. */
@Injectable()
export class MachineJwtGuard extends AuthGuard('machine-jwt') {
  override handleRequest<T = MachineIdentity>(
    error: unknown,
    user: unknown,
    info: unknown,
    context: ExecutionContext,
  ): T {
    // Errors come from validate() only: its 401s, or the database failing while the machine is looked up, which is
    // the server's fault, not the token's.
    if (error instanceof Error) {
      throw error;
    }
    // The key provider's own refusal (critical header extensions); jsonwebtoken's come as plain errors.
    if (info instanceof JwtAuthError) {
      throw info;
    }
    if (error || !user) {
      const request = context.switchToHttp().getRequest<FastifyRequest>();
      throw new JwtAuthError(referenceJwtMessage(error ?? info, extractToken(request)));
    }
    return user as T;
  }
}
