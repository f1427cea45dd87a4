import { AuthenticateCertificateBouncer } from '@lapi/application';
import { DomainError, type Bouncer } from '@lapi/domain';
import { Logger } from '@nestjs/common';
import type { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { clientIp } from '../../http/client-ip';
import { accessForbidden } from '../../http/http-errors';
import { BOUNCER_CACHE_TTL_MS, ExpiringCache } from '../expiring-cache';
import { certificateVerdict, type ClientCertificateOptions } from './certificate-auth';
import { certificateClientName } from './client-certificate';

const logger = new Logger('TlsAuth');

/**
 * Bouncers by certificate name, kept as long as an API key's, so polls cost no database
 * round trip; the certificate itself (chain, OU, CRL) is judged on every request.
 */
export const certificateBouncerCache = () =>
  new ExpiringCache<Bouncer>({ ttlMs: BOUNCER_CACHE_TTL_MS, maxEntries: 100_000 });

/**
 * A bouncer call with a client certificate (middlewares/v1/api_key.go): an accepted one is the bouncer
 * `<CN>@<IP>`, added with auth type tls on first use, and any X-Api-Key is ignored; a refused one is a 403.
 * Null when the client sent no certificate (API key then).
 */
export async function bouncerByCertificate(
  commands: CommandBus,
  options: ClientCertificateOptions | undefined,
  request: FastifyRequest,
  cache: ExpiringCache<Bouncer>,
): Promise<Bouncer | null> {
  const verdict = certificateVerdict(request, options, 'bouncers');
  if (verdict.kind === 'none') {
    return null;
  }
  const ip = clientIp(request);
  if (verdict.kind === 'refused') {
    logger.warn(`bouncer certificate refused from ${ip}: ${verdict.reason}`);
    throw accessForbidden();
  }
  const name = certificateClientName(verdict.commonName, ip);
  try {
    return await cache.get(name, () =>
      commands.execute(
        new AuthenticateCertificateBouncer(name, {
          actor: { kind: 'bouncer', id: name },
          requestId: String(request.id),
          clientIp: ip,
        }),
      ),
    );
  } catch (error) {
    if (error instanceof DomainError) {
      // An API-key bouncer already has this name (or was deleted meanwhile).
      logger.warn(`bouncer certificate refused from ${ip}: ${error.message}`);
      throw accessForbidden();
    }
    throw error;
  }
}
