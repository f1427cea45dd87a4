import { LogInMachineWithCertificate } from '@lapi/application';
import { DomainError } from '@lapi/domain';
import { Logger } from '@nestjs/common';
import type { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { clientIp } from '../../http/client-ip';
import { accessForbidden, JwtAuthError } from '../../http/http-errors';
import { requestContext } from '../../http/request-context';
import { certificateVerdict, type ClientCertificateOptions } from './certificate-auth';
import { certificateClientName } from './client-certificate';

const logger = new Logger('TlsAuth');

/** The scenarios a login body lists, if any: with a certificate the body carries nothing else that matters. */
const scenariosOf = (body: unknown): string[] | null => {
  const scenarios = (body as { scenarios?: unknown } | null | undefined)?.scenarios;
  return Array.isArray(scenarios) && scenarios.every((s) => typeof s === 'string') ? scenarios : null;
};

/** A machine logged in by certificate, and that certificate's serial, which its tokens carry. */
export interface CertificateLogin {
  readonly machineId: string;
  readonly certSerial: string;
}

/**
 * POST /v1/watchers/login with a client certificate (middlewares/v1/jwt.go): an accepted one logs in the machine
 * `<CN>@<IP>`, created validated on first use, whatever the body says; a refused one is a 403. Resolves with the
 * machine and its certificate, or null when the client sent no certificate (password login then).
 */
export async function logInByCertificate(
  commands: CommandBus,
  options: ClientCertificateOptions | undefined,
  body: unknown,
  request: FastifyRequest,
): Promise<CertificateLogin | null> {
  const verdict = certificateVerdict(request, options, 'agents');
  if (verdict.kind === 'none') {
    return null;
  }
  const ip = clientIp(request);
  if (verdict.kind === 'refused') {
    logger.warn(`login by certificate refused from ${ip}: ${verdict.reason}`);
    throw accessForbidden();
  }
  const machineId = certificateClientName(verdict.commonName, ip);
  try {
    await commands.execute(
      new LogInMachineWithCertificate(
        machineId,
        scenariosOf(body),
        ip,
        request.headers['user-agent'],
        requestContext(request, { kind: 'machine', id: machineId }),
      ),
    );
    return { machineId, certSerial: verdict.serialNumber };
  } catch (error) {
    if (error instanceof DomainError) {
      throw new JwtAuthError(error.message);
    }
    throw error;
  }
}
