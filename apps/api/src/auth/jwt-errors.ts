// jsonwebtoken's messages → the texts gin-jwt / golang-jwt give for the same failure (LAPI-CONTRACT §2.1.1).
export function referenceJwtMessage(error: unknown, token: string | null): string {
  if (!token) {
    // gin-jwt reports the last lookup method it tried: the cookie.
    return 'cookie token is empty';
  }
  const message = error instanceof Error ? error.message : String(error);
  switch (message) {
    case 'jwt expired':
      return 'Token is expired';
    case 'invalid signature':
      return 'signature is invalid';
    case 'invalid algorithm':
      return 'invalid signing algorithm';
    default:
      return token.split('.').length !== 3 ? 'token contains an invalid number of segments' : 'token is malformed';
  }
}
