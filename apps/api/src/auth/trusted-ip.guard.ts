import { parseIpRange, rangeContains, type IpRange } from '@lapi/domain';
import { Inject, Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { API_OPTIONS, type ApiOptions } from '../api-options';
import { clientIp } from '../http/client-ip';
import { LapiHttpError } from '../http/http-errors';

// Loopback is always trusted (reference §2.5), on top of the configured trusted_ips.
const LOOPBACK = ['127.0.0.1', '::1'];

/** Alert deletion is for trusted IPs only (controllers/v1/alerts.go). */
@Injectable()
export class TrustedIpGuard implements CanActivate {
  private readonly trusted: IpRange[];

  constructor(@Inject(API_OPTIONS) options: ApiOptions) {
    this.trusted = [...LOOPBACK, ...options.trustedIps].flatMap((t) => parseIpRange(t) ?? []);
  }

  canActivate(context: ExecutionContext): boolean {
    const ip = clientIp(context.switchToHttp().getRequest<FastifyRequest>());
    const range = parseIpRange(ip);
    if (!range || !this.trusted.some((t) => rangeContains(t, range))) {
      throw new LapiHttpError(403, `access forbidden from this IP (${ip})`);
    }
    return true;
  }
}
