import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-jwt';
import { JwtAuthError } from '../http/http-errors';
import { extractToken } from './token-extractor';
import { TokenService, type MachineClaims } from './token.service';

/** The authenticated machine, as routes see it. */
export interface MachineIdentity {
  readonly machineId: string;
}

@Injectable()
export class MachineJwtStrategy extends PassportStrategy(Strategy, 'machine-jwt') {
  constructor(@Inject(TokenService) tokens: TokenService) {
    super({
      jwtFromRequest: (request: FastifyRequest) => extractToken(request),
      // The current secret, or the previous one for its own tokens during a rotation.
      secretOrKeyProvider: (_request: unknown, token: string, done: (error: null, secret: string) => void) =>
        done(null, tokens.verificationSecret(token)),
      algorithms: ['HS256'],
    });
  }

  validate(claims: Partial<MachineClaims>): MachineIdentity {
    // gin-jwt refuses a token without a numeric exp; jsonwebtoken would accept it forever.
    if (typeof claims.exp !== 'number') {
      throw new JwtAuthError('missing exp field');
    }
    // Like the reference's IdentityHandler: the machine is whatever `id` names; the DB is not consulted.
    if (typeof claims.id !== 'string' || claims.id === '') {
      throw new JwtAuthError('token has no machine id');
    }
    return { machineId: claims.id };
  }
}
