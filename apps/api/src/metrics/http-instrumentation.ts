import type { Bouncer } from '@lapi/domain';
import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MachineIdentity } from '../auth/token.service';
import { accessLogLevel, formatAccessLog } from '../http/access-log';
import { clientIp } from '../http/client-ip';
import { INVALID_ENDPOINT, type LapiMetrics } from './lapi-metrics';

export const METRICS_PATH = '/metrics';

type Identified = FastifyRequest & { user?: MachineIdentity; bouncer?: Bouncer };

/**
 * `GET /metrics` (unauthenticated, like the reference's Prometheus listener; a plain Fastify route, so no Nest guard
 * runs on it) and, for every other answered request, the metrics and one access log line with its request id.
 */
export function instrumentHttp(fastify: FastifyInstance, metrics: LapiMetrics, logFormat: 'json' | 'pretty'): void {
  const logger = new Logger('Http');

  fastify.get(METRICS_PATH, async (_request, reply) => {
    const text = await metrics.scrape();
    return reply.header('content-type', metrics.contentType).send(text);
  });

  fastify.addHook('onResponse', (request: Identified, reply, done) => {
    const route = request.routeOptions.url ?? INVALID_ENDPOINT;
    const machine = request.user?.machineId;
    const bouncer = request.bouncer?.name;
    const ms = reply.elapsedTime;
    if (route !== METRICS_PATH) {
      metrics.request({ route, method: request.method, seconds: ms / 1000, machine, bouncer });
    }
    const entry = {
      requestId: String(request.id),
      method: request.method,
      route,
      path: request.url.split('?')[0],
      status: reply.statusCode,
      ms: Math.round(ms * 10) / 10,
      ip: clientIp(request),
      ...(machine !== undefined && { machine }),
      ...(bouncer !== undefined && { bouncer }),
    };
    logger[accessLogLevel(route)](formatAccessLog(entry, logFormat));
    done();
  });
}
