import { FastifyAdapter } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { requestClientIp, type TrustedProxies } from './client-ip';
import { InvalidJsonBody } from './http-errors';
import { RouteTable } from './route-table';

// Reference 1.7.8 limits: 2 MiB before authentication, 50 MiB after (http.MaxBytesReader).
export const UNAUTHENTICATED_BODY_LIMIT = 2 * 1024 * 1024;
export const AUTHENTICATED_BODY_LIMIT = 50 * 1024 * 1024;
const UNAUTHENTICATED_ROUTES = new Set(['/v1/watchers', '/v1/watchers/login']);

/**
 * Postgres refuses NUL characters in text and lone UTF-16 surrogates in jsonb; without this check such a body
 * would fail at the database with a 500. Refuse it as invalid JSON instead.
 */
const storableStrings = (_key: string, value: unknown): unknown => {
  if (typeof value === 'string' && (value.includes('\u0000') || !value.isWellFormed())) {
    throw new Error('strings must not contain NUL characters or unpaired surrogates');
  }
  return value;
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A Fastify adapter that behaves like the reference's gin server on the wire. */
export function createFastifyAdapter(options: { trustedProxies?: TrustedProxies; https?: HttpsServerOptions } = {}): {
  adapter: FastifyAdapter;
  routes: RouteTable;
} {
  const routes = new RouteTable();
  const adapter = new FastifyAdapter({
    ...(options.https ? { https: options.https } : {}),
    bodyLimit: AUTHENTICATED_BODY_LIMIT,
    // Echo a sane incoming id so a request can be followed across a load balancer; otherwise make one.
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    return503OnClosing: true,
    // Refusals before routing (a path with a bad %-escape): 400 in the LAPI's shape, not Fastify's own
    // {error, code, message, statusCode} (Go's server answers 400 to such a request line too).
    frameworkErrors: (error: Error, _request: unknown, reply: FastifyReply) => {
      void reply.code(400).send({ message: error.message });
    },
    // gin matches paths exactly: no case folding, and `/v1//x` is a different path.
    routerOptions: { ignoreTrailingSlash: false, ignoreDuplicateSlashes: false, caseSensitive: true },
  });
  const fastify = adapter.getInstance();

  // Once per request, before any guard or handler reads it (and the same value for all of them).
  const proxies = options.trustedProxies ?? null;
  fastify.decorateRequest('lapiClientIp', undefined);
  fastify.addHook('onRequest', (request, _reply, done) => {
    request.lapiClientIp = requestClientIp(request, proxies);
    done();
  });

  fastify.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      routes.add(method, route.url);
    }
    if (UNAUTHENTICATED_ROUTES.has(route.url)) {
      route.bodyLimit = UNAUTHENTICATED_BODY_LIMIT;
    }
  });

  // The reference does not check Content-Type: every body is JSON (curl's form content-type included).
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(text, storableStrings));
    } catch (error) {
      done(null, new InvalidJsonBody(error instanceof Error ? error.message : String(error)));
    }
  });

  fastify.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', String(request.id));
    done(null, payload);
  });

  return { adapter, routes };
}
