import type { WatcherAuthResponse } from '@lapi/lapi-contract';
import jwt from 'jsonwebtoken';

/** Tokens live one hour and can be refreshed for one hour after issue, as the reference's gin-jwt setup. */
export const TOKEN_LIFETIME_S = 3600;
export const MAX_REFRESH_S = 3600;

export const JWT_SECRET = Symbol('JWT_SECRET');

export interface MachineClaims {
  exp: number;
  id: string;
  orig_iat: number;
}

/** RFC 3339 in UTC with whole seconds, as the reference prints `expire`. */
export const rfc3339Seconds = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Signs machine tokens: HS256, claims exactly {exp, id, orig_iat}. */
export class TokenService {
  constructor(private readonly secret: string) {}

  issue(machineId: string, now: Date, origIat = Math.floor(now.getTime() / 1000)): WatcherAuthResponse {
    const exp = Math.floor(now.getTime() / 1000) + TOKEN_LIFETIME_S;
    const claims: MachineClaims = { exp, id: machineId, orig_iat: origIat };
    const token = jwt.sign(claims, this.secret, {
      algorithm: 'HS256',
      noTimestamp: true,
      header: { alg: 'HS256', typ: 'JWT' },
    });
    return { code: 200, expire: rfc3339Seconds(new Date(exp * 1000)), token };
  }

  /** Verifies the signature only (expired tokens pass), for /v1/refresh_token. */
  verifyIgnoringExpiry(token: string): MachineClaims {
    return jwt.verify(token, this.secret, { algorithms: ['HS256'], ignoreExpiration: true }) as MachineClaims;
  }
}
