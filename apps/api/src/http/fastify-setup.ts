import { parseJsonInSlices, Slicer } from '@lapi/event-store';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { errorCodes, type FastifyReply, type FastifyRequest } from 'fastify';
import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { AUTHENTICATED_BODY_LIMIT, BodyLimit, UNAUTHENTICATED_BODY_LIMIT } from './body-limit';
import { requestClientIp, type TrustedProxies } from './client-ip';
import { InvalidJsonBody } from './http-errors';
import { RouteTable } from './route-table';
import { unstorableString } from './storable-json';

// Never authenticated: their bodies are held to the smaller limit whatever credential comes with them.
const UNAUTHENTICATED_ROUTES = new Set(['/v1/watchers', '/v1/watchers/login']);
// A usage report is a few kilobytes (a hundred items, an agent's hub list): a body this large is no report.
const USAGE_METRICS_BODY_LIMIT = 1024 * 1024;

// Bodies above this are parsed in slices (see parseJsonInSlices); below, one JSON.parse takes a few milliseconds.
const SLICED_PARSE_BYTES = 1024 * 1024;

/**
 * As fastify answered when it read bodies as strings: it compared Content-Length with the length of the decoded text,
 * which differs from the bytes' when they are not valid UTF-8 (each bad sequence became a 3-byte U+FFFD).
 */
const decodedLengthDiffers = (request: FastifyRequest, bytes: Buffer): boolean =>
  request.headers['content-length'] !== undefined &&
  !isUtf8(bytes) &&
  Buffer.byteLength(bytes.toString('utf8')) !== bytes.length;

// String.prototype.trim's whitespace, for a body of bytes (a big body is blank only if every byte is).
const isBlank = (bytes: Buffer): boolean => {
  for (const b of bytes) {
    if (b !== 0x20 && (b < 0x09 || b > 0x0d)) {
      return b < 0x80 ? false : bytes.toString('utf8').trim() === '';
    }
  }
  return true;
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const invalidJson = (error: unknown) => new InvalidJsonBody(error instanceof Error ? error.message : String(error));
// Postgres refuses NUL characters in text and lone UTF-16 surrogates in jsonb; without this check such a body would
// fail at the database with a 500. Refuse it as invalid JSON instead. JSON text can only carry either as a \u escape,
// so a body without one is not walked.
const unstorableBody = () => new InvalidJsonBody('strings must not contain NUL characters or unpaired surrogates');

/** A Fastify adapter that behaves like the reference's gin server on the wire. */
export function createFastifyAdapter(options: { trustedProxies?: TrustedProxies; https?: HttpsServerOptions } = {}): {
  adapter: FastifyAdapter;
  routes: RouteTable;
  /** Told the guards' credential checks once the app exists. */
  bodyLimit: BodyLimit;
} {
  const routes = new RouteTable();
  const bodyLimit = new BodyLimit();
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
    } else if (route.url === '/v1/usage-metrics') {
      route.bodyLimit = USAGE_METRICS_BODY_LIMIT;
    }
  });

  bodyLimit.register(fastify);

  // The reference does not check Content-Type: every body is JSON (curl's form content-type included).
  fastify.removeAllContentTypeParsers();
  // Bytes, not a string: fastify would build a big body's string by concatenation, which costs a long uninterrupted
  // copy (50-200 ms for 10 MB on a loaded machine) the first time it is read; parseJsonInSlices reads bytes.
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    if (decodedLengthDiffers(request, bytes)) {
      done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
      return;
    }
    if (bytes.length <= SLICED_PARSE_BYTES) {
      const text = bytes.toString('utf8');
      if (text.trim() === '') {
        done(null, undefined);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        done(null, invalidJson(error));
        return;
      }
      if (!text.includes('\\u')) {
        done(null, parsed);
        return;
      }
      void unstorableString(parsed).then((unstorable) => done(null, unstorable ? unstorableBody() : parsed));
      return;
    }
    // A big body (an alert with 100k decisions is ~11 MB) is parsed and checked in slices: one JSON.parse of it held
    // the event loop, and every other request with it, for hundreds of milliseconds.
    if (isBlank(bytes)) {
      done(null, undefined);
      return;
    }
    const slicer = new Slicer();
    void parseJsonInSlices(bytes, slicer).then(
      async (parsed) =>
        done(null, bytes.includes('\\u') && (await unstorableString(parsed, slicer)) ? unstorableBody() : parsed),
      (error: unknown) => done(null, invalidJson(error)),
    );
  });

  fastify.addHook('onSend', (request, reply, payload, done) => {
    void reply.header('x-request-id', String(request.id));
    done(null, payload);
  });

  return { adapter, routes, bodyLimit };
}
