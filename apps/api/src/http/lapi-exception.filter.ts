import { PasswordHashingBusyError } from '@lapi/application';
import { DomainError, type DomainErrorCode } from '@lapi/domain';
import { ConcurrencyError, isLostDatabaseConnection, isStorageFull } from '@lapi/event-store';
import {
  Catch,
  HttpException,
  Logger,
  NotFoundException,
  type ArgumentsHost,
  type ExceptionFilter,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { JwtAuthError, LapiHttpError, WWW_AUTHENTICATE } from './http-errors';
import type { RouteTable } from './route-table';

// Domain error code → status: every code has one (typed). Messages are the domain's (they carry the reference's texts).
const DOMAIN_STATUS: Record<DomainErrorCode, number> = {
  'MACHINE.ALREADY_EXISTS': 403, // controllers/v1/errors.go: UserExists → 403
  'MACHINE.NOT_FOUND': 404,
  'MACHINE.NOT_VALIDATED': 401,
  'MACHINE.INVALID_CREDENTIALS': 401,
  'MACHINE.AUTH_TYPE_MISMATCH': 401,
  'MACHINE.AUTO_REGISTRATION_REFUSED': 401,
  // Well-formed JSON whose name or password no machine may have.
  'MACHINE.INVALID_REGISTRATION': 422,
  'BOUNCER.ALREADY_EXISTS': 403,
  'BOUNCER.NOT_FOUND': 404,
  'BOUNCER.KEY_IN_USE': 403,
  // A certificate's bouncer name taken by a key's bouncer.
  'BOUNCER.AUTH_TYPE_MISMATCH': 400,
  'DECISION.INVALID': 400,
  'DECISION.NOT_FOUND': 404,
  'ALERT.NOT_FOUND': 404,
  'ALERT.INVALID': 400,
  // The reference answers 500 for these (HandleDBErrors); they are the client's mistakes.
  'ALLOWLIST.NOT_FOUND': 404,
  'ALLOWLIST.ALREADY_EXISTS': 403,
  'ALLOWLIST.INVALID_VALUE': 400,
  'ALLOWLIST.ALLOWLISTED': 409,
  // A profile could not evaluate this alert (the reference answers 500 with the same text).
  'PROFILE.EVALUATION': 422,
  'EXPR.RUNTIME': 422,
  // The server's own configuration (profiles, notification templates): never the client's doing.
  'PROFILE.CONFIG': 500,
  'EXPR.COMPILE': 500,
  'EXPR.UNSUPPORTED': 500,
  'NOTIFICATION.CONFIG': 500,
  'NOTIFICATION.TEMPLATE_PARSE': 500,
  'NOTIFICATION.TEMPLATE_EXEC': 500,
  VALIDATION: 400,
  ILLEGAL_STATE: 409,
};

// A full disk frees up (an operator acts, retention deletes): a 503 with Retry-After makes the agents retry the push.
const STORAGE_FULL_RETRY_AFTER_S = 30;
/** What a client is told to wait after a request failed on a lost database connection. */
const LOST_CONNECTION_RETRY_AFTER_S = 1;

/** The server cannot take the request now but will: agents retry a 503 after Retry-After. */
const unavailable = (reply: FastifyReply, retryAfterS: number, message: string): void => {
  void reply.code(503).header('retry-after', String(retryAfterS)).send({ message });
};

/** The one place that turns an error into the LAPI's JSON body. */
@Catch()
export class LapiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('LapiExceptionFilter');

  constructor(private readonly routes: RouteTable) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest>();

    if (exception instanceof JwtAuthError) {
      void reply.code(401).header('www-authenticate', WWW_AUTHENTICATE).send({ code: 401, message: exception.message });
      return;
    }
    if (exception instanceof LapiHttpError) {
      void reply.code(exception.status).headers(exception.headers).send({ message: exception.message });
      return;
    }
    if (exception instanceof DomainError) {
      void reply.code(DOMAIN_STATUS[exception.code]).send({ message: exception.message });
      return;
    }
    if (exception instanceof PasswordHashingBusyError) {
      unavailable(reply, exception.retryAfterS, exception.message);
      return;
    }
    if (exception instanceof ConcurrencyError) {
      void reply.code(409).send({ message: 'the resource was changed concurrently, retry' });
      return;
    }
    if (isLostDatabaseConnection(exception)) {
      // PostgreSQL ended the session (failover, restart, pg_terminate_backend): nothing was committed by this
      // request, unless the connection died during COMMIT; the pool reconnects, so the client retries.
      this.logger.warn(
        `database connection lost on ${request.method} ${request.url.split('?')[0]}: ${(exception as Error).message}`,
      );
      unavailable(reply, LOST_CONNECTION_RETRY_AFTER_S, 'the database connection was lost: retry later');
      return;
    }
    if (exception instanceof NotFoundException) {
      // Nest's own "no route" signal: answer as gin does, with empty bodies.
      const path = request.url.split('?')[0];
      const answer = this.routes.fallback(request.method, path);
      if ('location' in answer) {
        void reply.code(answer.status).header('location', answer.location).send();
      } else {
        void reply.code(answer.status).header('content-length', '0').send();
      }
      return;
    }
    if (exception instanceof HttpException) {
      void reply.code(exception.getStatus()).send({ message: exception.message });
      return;
    }
    if (isFastifyClientError(exception)) {
      // Fastify's own refusals (body too large, bad content length…) before any route ran. The body was refused
      // unread: read and drop it, so a client still sending it gets this answer instead of a broken pipe.
      request.raw.resume();
      void reply.code(exception.statusCode).send({ message: exception.message });
      return;
    }
    if (isStorageFull(exception)) {
      this.logger.error(
        `storage full on ${request.method} ${request.url.split('?')[0]} (request ${String(request.id)}): ${exception instanceof Error ? exception.message : String(exception)}`,
      );
      unavailable(reply, STORAGE_FULL_RETRY_AFTER_S, 'storage full');
      return;
    }
    this.logger.error(
      `unhandled error on ${request.method} ${request.url.split('?')[0]} (request ${String(request.id)})`,
      exception instanceof Error ? exception.stack : String(exception),
    );
    void reply.code(500).send({ message: 'internal server error' });
  }
}

const isFastifyClientError = (e: unknown): e is { statusCode: number; message: string } => {
  const status = e instanceof Error ? (e as Error & { statusCode?: unknown }).statusCode : undefined;
  return typeof status === 'number' && status >= 400 && status < 500;
};
