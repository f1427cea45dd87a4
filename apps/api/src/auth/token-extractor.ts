import type { FastifyRequest } from 'fastify';

/** gin-jwt's TokenLookup order: `Authorization: Bearer` (exact scheme), then `?token=`, then the `jwt` cookie. */
export function extractToken(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.startsWith('Bearer ')) {
    const token = header.slice('Bearer '.length);
    if (token) {
      return token;
    }
  }
  const query = request.query as Record<string, unknown> | undefined;
  const fromQuery = query?.token;
  if (typeof fromQuery === 'string' && fromQuery) {
    return fromQuery;
  }
  const cookies = request.headers.cookie;
  if (typeof cookies === 'string') {
    for (const part of cookies.split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name === 'jwt' && value.join('=')) {
        return cookieValue(value.join('='));
      }
    }
  }
  return null;
}

/** A badly %-escaped cookie is no token (Go's url.QueryUnescape fails the same way), not a server error. */
function cookieValue(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}
