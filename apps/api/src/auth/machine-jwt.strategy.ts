import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { createSecretKey, type KeyObject } from 'node:crypto';
import { Strategy } from 'passport-jwt';
import { JwtAuthError } from '../http/http-errors';
import { MachineTokenCheck } from './machine-token-check';
import { extractToken } from './token-extractor';
import { TokenService, type MachineClaims } from './token.service';

/** The authenticated machine, as routes see it. */
export interface MachineIdentity {
  readonly machineId: string;
}

@Injectable()
export class MachineJwtStrategy extends PassportStrategy(Strategy, 'machine-jwt') {
  private readonly check: MachineTokenCheck;

  constructor(@Inject(TokenService) tokens: TokenService, @Inject(MachineTokenCheck) check: MachineTokenCheck) {
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
    this.check = check;
  }

  async validate(claims: Partial<MachineClaims>): Promise<MachineIdentity> {
    // gin-jwt refuses a token without a numeric exp; jsonwebtoken would accept it forever.
    if (typeof claims.exp !== 'number') {
      throw new JwtAuthError('missing exp field');
    }
    const { id, orig_iat: origIat } = claims;
    if (typeof id !== 'string' || id === '') {
      throw new JwtAuthError('token has no machine id');
    }
    // Every token we issue has one: it tells a token of this machine from one of a machine deleted before.
    if (typeof origIat !== 'number') {
      throw new JwtAuthError('token has no orig_iat');
    }
    // Unlike the reference's IdentityHandler, the machine named must still honour the token (cached).
    await this.check.assertHonoured({ id, orig_iat: origIat, cert_serial: claims.cert_serial });
    return { machineId: id };
  }
}
