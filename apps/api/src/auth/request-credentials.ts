import { Inject, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { API_OPTIONS, type ApiOptions } from '../api-options';
import { BouncerKeys } from './bouncer-keys';
import { certificateVerdict } from './tls/certificate-auth';
import { extractToken } from './token-extractor';
import { TokenService } from './token.service';

/**
 * Whether a request carries a credential the guards would accept, decided before its body is read (which body
 * limit applies). Each rule is the guards' own: the machine token check, the API key lookup (cached), the client
 * certificate verdict. The guards still decide the answer; this only sizes the body.
 */
@Injectable()
export class RequestCredentials {
  constructor(
    private readonly tokens: TokenService,
    private readonly keys: BouncerKeys,
    @Inject(API_OPTIONS) private readonly options: ApiOptions,
  ) {}

  async valid(request: FastifyRequest): Promise<boolean> {
    const certificates = this.options.clientCertificates;
    if (
      certificates &&
      (certificateVerdict(request, certificates, 'agents').kind === 'accepted' ||
        certificateVerdict(request, certificates, 'bouncers').kind === 'accepted')
    ) {
      return true;
    }
    const token = extractToken(request);
    if (token !== null) {
      try {
        this.tokens.authenticate(token);
        return true;
      } catch {
        // not a valid token: perhaps an API key
      }
    }
    const header = request.headers['x-api-key'];
    const apiKey = Array.isArray(header) ? header[0] : header;
    return apiKey !== undefined && (await this.keys.find(apiKey)) !== null;
  }
}
