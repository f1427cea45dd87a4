import jwt from 'jsonwebtoken';
import { previousSecretClaimsAcceptable, TokenService } from './token.service';

const OLD = 'o'.repeat(64);
const NEW = 'n'.repeat(64);
const NOW = new Date('2026-11-29T12:00:00Z');
const nowS = NOW.getTime() / 1000;
const sign = (claims: object, secret: string) => jwt.sign(claims, secret, { algorithm: 'HS256', noTimestamp: true });

describe('previousSecretClaimsAcceptable', () => {
  it('accepts what we issue: a login, a refreshed token, an expired one for /v1/refresh_token', () => {
    expect(previousSecretClaimsAcceptable({ orig_iat: nowS, exp: nowS + 3600 }, nowS)).toBe(true);
    expect(previousSecretClaimsAcceptable({ orig_iat: nowS - 3000, exp: nowS + 3600 }, nowS)).toBe(true);
    expect(previousSecretClaimsAcceptable({ orig_iat: nowS - 4000, exp: nowS - 400 }, nowS)).toBe(true);
  });

  it('refuses a token from the future, one valid past a lifetime from now, or missing its times', () => {
    expect(previousSecretClaimsAcceptable({ orig_iat: nowS + 600, exp: nowS + 3600 }, nowS)).toBe(false);
    expect(previousSecretClaimsAcceptable({ orig_iat: nowS, exp: nowS + 2 * 3600 }, nowS)).toBe(false);
    expect(previousSecretClaimsAcceptable({ orig_iat: 0, exp: nowS + 3600 }, nowS)).toBe(false);
    expect(previousSecretClaimsAcceptable({ exp: nowS + 3600 }, nowS)).toBe(false);
    expect(previousSecretClaimsAcceptable({ orig_iat: nowS }, nowS)).toBe(false);
  });
});

describe('TokenService during a rotation', () => {
  const tokens = new TokenService(NEW, OLD);

  it('signs with the current secret only', () => {
    const { token } = tokens.issue('agent', NOW);
    expect(() => jwt.verify(token, NEW, { ignoreExpiration: true })).not.toThrow();
    expect(() => jwt.verify(token, OLD, { ignoreExpiration: true })).toThrow();
  });

  it('checks each token with the secret that signed it, the previous one only for acceptable claims', () => {
    const claims = { id: 'agent', orig_iat: nowS, exp: nowS + 3600 };
    expect(tokens.verificationSecret(sign(claims, NEW), NOW)).toBe(NEW);
    expect(tokens.verificationSecret(sign(claims, OLD), NOW)).toBe(OLD);
    expect(tokens.verificationSecret(sign({ ...claims, exp: nowS + 86_400 }, OLD), NOW)).toBe(NEW);
    expect(tokens.verificationSecret(sign(claims, 'x'.repeat(64)), NOW)).toBe(NEW);
    expect(tokens.verificationSecret('not.a.token', NOW)).toBe(NEW);
    expect(new TokenService(NEW).verificationSecret(sign(claims, OLD), NOW)).toBe(NEW);
  });

  it('refreshes a previous-secret token, and refuses one with unacceptable claims', () => {
    const claims = { id: 'agent', orig_iat: nowS, exp: nowS + 3600 };
    expect(tokens.verifyIgnoringExpiry(sign(claims, OLD), NOW).id).toBe('agent');
    expect(() => tokens.verifyIgnoringExpiry(sign({ ...claims, orig_iat: nowS + 7200 }, OLD), NOW)).toThrow(
      /invalid signature/,
    );
  });
});
