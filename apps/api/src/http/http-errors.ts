/** An error answered as-is: the reference's status and `{"message": …}` body. */
export class LapiHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Sent with the answer, e.g. Retry-After with a 429. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'LapiHttpError';
  }
}

/**
 * The JWT middleware's failures: 401 `{"code":401,"message":…}` plus `WWW-Authenticate`
 * (reference: appleboy/gin-jwt as configured in middlewares/v1/jwt.go).
 */
export class JwtAuthError extends LapiHttpError {
  constructor(message: string) {
    super(401, message);
    this.name = 'JwtAuthError';
  }
}

export const WWW_AUTHENTICATE = 'JWT realm=Crowdsec API local';

/** The bouncer middleware answers every failure the same way (middlewares/v1/api_key.go). */
export const accessForbidden = (): LapiHttpError => new LapiHttpError(403, 'access forbidden');

/** Marks a request body that was not valid JSON; the route decides how to answer (login: 401, others: 400). */
export class InvalidJsonBody {
  constructor(readonly reason: string) {}
}
