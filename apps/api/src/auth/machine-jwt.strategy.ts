import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { Strategy } from 'passport-jwt';
import { MachineTokenCheck } from './machine-token-check';
import { extractToken } from './token-extractor';
import { TokenService, type MachineClaims, type MachineIdentity } from './token.service';

/** Machine JWTs: TokenService's rules for the token, MachineTokenCheck's for the machine it names. */
@Injectable()
export class MachineJwtStrategy extends PassportStrategy(Strategy, 'machine-jwt') {
  constructor(
    @Inject(TokenService) private readonly tokens: TokenService,
    @Inject(MachineTokenCheck) private readonly check: MachineTokenCheck,
  ) {
    super({
      jwtFromRequest: (request: FastifyRequest) => extractToken(request),
      secretOrKeyProvider: (_request: unknown, token: string, done: (error: unknown, key?: string) => void) => {
        try {
          done(null, tokens.verificationKey(token) as unknown as string);
        } catch (error) {
          done(error);
        }
      },
      algorithms: ['HS256'],
    });
  }

  async validate(claims: Partial<MachineClaims>): Promise<MachineIdentity> {
    const verified = this.tokens.claimsOf(claims);
    // Unlike the reference's IdentityHandler, the machine named must still honour the token (cached).
    await this.check.assertHonoured(verified);
    return { machineId: verified.id };
  }
}
