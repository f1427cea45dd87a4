import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { createSecretKey, type KeyObject } from 'node:crypto';
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
    // jsonwebtoken turns a string secret into a key on every verify, first trying it as a PEM public key and
    // catching the failure: that cost more than the rest of an alert push. The key objects are made once.
    const keys = new Map<string, KeyObject>();
    const keyOf = (secret: string): KeyObject => {
      let key = keys.get(secret);
      if (!key) {
        key = createSecretKey(Buffer.from(secret));
        keys.set(secret, key);
      }
      return key;
    };
    super({
      jwtFromRequest: (request: FastifyRequest) => extractToken(request),
      // The current secret, or the previous one for its own tokens during a rotation.
      secretOrKeyProvider: (_request: unknown, token: string, done: (error: null, secret: string) => void) =>
        done(null, keyOf(tokens.verificationSecret(token)) as unknown as string),
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
