import type { WatcherAuthResponse } from '@lapi/lapi-contract';
import jwt from 'jsonwebtoken';
import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * Tokens live one hour and can be refreshed for one hour after the login, as the reference's gin-jwt setup; a
 * refresh keeps the login's orig_iat (gin-jwt resets it), so no token outlives its login by more than two hours.
 */
export const TOKEN_LIFETIME_S = 3600;
export const MAX_REFRESH_S = 3600;

export interface MachineClaims {
  exp: number;
  id: string;
  orig_iat: number;
  /** Only in a token got by client certificate: that certificate's serial, checked against the CRL on each use. */
  cert_serial?: string;
}

/** What a token carries from the login it comes from, through every refresh. */
export interface TokenOrigin {
  /** The login's time (unix s). */
  readonly origIat?: number;
  readonly certSerial?: string;
}

/** RFC 3339 in UTC with whole seconds, as the reference prints `expire`. */
export const rfc3339Seconds = (date: Date): string => date.toISOString().replace(/\.\d{3}Z$/, 'Z');

// Replicas' clocks may differ this much.
const CLOCK_SKEW_S = 60;

/**
 * A token signed with the previous secret is one this LAPI issued before the rotation only if its claims are ones
 * we issue: not from the future, valid for at most one lifetime from now, refreshed within the refresh window.
 * Its exp then ends its use within one lifetime.
 */
export function previousSecretClaimsAcceptable(claims: Partial<MachineClaims>, nowS: number): boolean {
  const { exp, orig_iat: origIat } = claims;
  return (
    typeof exp === 'number' &&
    typeof origIat === 'number' &&
    origIat <= nowS + CLOCK_SKEW_S &&
    exp <= nowS + TOKEN_LIFETIME_S + CLOCK_SKEW_S &&
    exp - origIat <= MAX_REFRESH_S + TOKEN_LIFETIME_S
  );
}

/**
 * Signs machine tokens: HS256, claims exactly {exp, id, orig_iat} (and cert_serial after a certificate login), always with the current secret. During a
 * rotation (CS_LAPI_SECRET_PREVIOUS) tokens signed with the previous secret are still accepted until they expire.
 */
export class TokenService {
  private readonly keys: { readonly current: KeyObject; readonly previous?: KeyObject };

  constructor(
    private readonly secret: string,
    private readonly previousSecret?: string,
  ) {
    this.keys = {
      current: createSecretKey(Buffer.from(secret)),
      ...(previousSecret === undefined ? {} : { previous: createSecretKey(Buffer.from(previousSecret)) }),
    };
  }

  issue(machineId: string, now: Date, origin: TokenOrigin = {}): WatcherAuthResponse {
    const nowS = Math.floor(now.getTime() / 1000);
    const exp = nowS + TOKEN_LIFETIME_S;
    const claims: MachineClaims = {
      exp,
      id: machineId,
      orig_iat: origin.origIat ?? nowS,
      ...(origin.certSerial === undefined ? {} : { cert_serial: origin.certSerial }),
    };
    const token = jwt.sign(claims, this.secret, {
      algorithm: 'HS256',
      noTimestamp: true,
      header: { alg: 'HS256', typ: 'JWT' },
    });
    return { code: 200, expire: rfc3339Seconds(new Date(exp * 1000)), token };
  }

  /** Verifies the signature only (expired tokens pass), for /v1/refresh_token. */
  verifyIgnoringExpiry(token: string, now = new Date()): MachineClaims {
    return jwt.verify(token, this.verificationSecret(token, now), {
      algorithms: ['HS256'],
      ignoreExpiration: true,
    }) as MachineClaims;
  }

  /**
   * The secret to check this token with: the previous one only for a token it signed, with acceptable claims;
   * otherwise the current one, whose verification then gives the usual error.
   */
  verificationSecret(token: string, now = new Date()): string {
    // An HMAC each, on keys made once: checking the current secret first costs its tokens next to nothing.
    if (
      this.previousSecret === undefined ||
      !this.keys.previous ||
      signedWith(token, this.keys.current) ||
      !signedWith(token, this.keys.previous)
    ) {
      return this.secret;
    }
    const claims = jwt.decode(token, { json: true }) as Partial<MachineClaims> | null;
    return claims && previousSecretClaimsAcceptable(claims, Math.floor(now.getTime() / 1000))
      ? this.previousSecret
      : this.secret;
  }
}

/** The HS256 signature alone (an expired token still tells which secret signed it); the real check comes after. */
function signedWith(token: string, key: KeyObject): boolean {
  const parts = token.split('.');
  if (parts.length !== 3) {
    return false;
  }
  const expected = createHmac('sha256', key).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
