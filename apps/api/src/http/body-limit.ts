import { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify';
import { Transform, type Readable } from 'node:stream';

// Reference 1.7.8 limits: 2 MiB before authentication, 50 MiB after (http.MaxBytesReader).
export const UNAUTHENTICATED_BODY_LIMIT = 2 * 1024 * 1024;
export const AUTHENTICATED_BODY_LIMIT = 50 * 1024 * 1024;

/** Whether the request carries a credential its guard would accept (the guards' own checks, cheap and cached). */
export type CredentialCheck = (request: FastifyRequest) => Promise<boolean>;

const tooLarge = () => new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();

/**
 * Sizes each body before a byte of it is read: the route's limit (50 MiB) once the request's credential has been
 * checked, 2 MiB until then, on every route and method, unknown routes included. A larger declared length is refused
 * at once, a chunked body as soon as it passes the limit: 413 and `Connection: close`, so the rest is neither read
 * nor parsed and an anonymous client cannot make the process hold a large body.
 */
export class BodyLimit {
  // Until the app exists nothing is known to be authenticated.
  private check: CredentialCheck = () => Promise.resolve(false);

  /** The guards' checks, once the app that holds them is built. */
  useCredentialCheck(check: CredentialCheck): void {
    this.check = check;
  }

  register(fastify: FastifyInstance): void {
    // A callback hook: most requests have no body or a small one, and pass without a promise.
    fastify.addHook('preParsing', (request, reply, payload, done) => {
      const chunked = request.headers['transfer-encoding'] !== undefined;
      const declared = Number(request.headers['content-length'] ?? 0);
      // No body, one that fits either limit, or a route held to 2 MiB anyway (login, registration): nothing to check.
      if (
        (!chunked && declared <= UNAUTHENTICATED_BODY_LIMIT) ||
        request.routeOptions.bodyLimit <= UNAUTHENTICATED_BODY_LIMIT
      ) {
        done(null, payload);
        return;
      }
      // A lookup that fails (database down) leaves the request unauthenticated here; its guard answers for itself.
      void this.check(request)
        .catch(() => false)
        .then((valid) => {
          if (valid) {
            done(null, payload);
          } else if (chunked) {
            // Fastify answers the stream's error as it answers its own limit (413, connection closed).
            done(null, limited(payload, UNAUTHENTICATED_BODY_LIMIT));
          } else {
            // The client may still be sending: close the connection after the answer rather than read the rest.
            void reply.header('connection', 'close');
            done(tooLarge());
          }
        });
    });
  }
}

/** `payload`, failing with a 413 once more than `limit` bytes have come. */
function limited(payload: Readable, limit: number): Readable {
  let received = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, next) {
      received += chunk.length;
      next(received > limit ? tooLarge() : null, chunk);
    },
  });
  // Not pipeline(): that would destroy the request, and with it the socket the 413 must be written to.
  payload.on('error', (error) => counted.destroy(error));
  payload.pipe(counted);
  return counted;
}
