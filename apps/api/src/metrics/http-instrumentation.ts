import type { Bouncer } from '@lapi/domain';
import { Logger } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MachineIdentity } from '../auth/token.service';
import { accessLogLevel, formatAccessLog } from '../http/access-log';
import { clientIp } from '../http/client-ip';
import { INVALID_ENDPOINT, type LapiMetrics } from './lapi-metrics';

type Identified = FastifyRequest & { user?: MachineIdentity; bouncer?: Bouncer };

/**
 * For every answered request, the metrics and one access log line with its request id. The metrics themselves are
 * served on their own listener (serveMetrics, LAPI_METRICS_LISTEN_URI), not here: `GET /metrics` on the API port is
 * an unknown route.
 */
export function instrumentHttp(
  fastify: FastifyInstance,
  metrics: LapiMetrics,
  logFormat: 'json' | 'pretty',
  logLevels: readonly string[] = ['log', 'debug'],
): void {
  const logger = new Logger('Http');
  // Below the configured level (LAPI_LOG_LEVEL=warn) no line is written: none is built either.
  const logged = new Set(logLevels);

  fastify.addHook('onResponse', (request: Identified, reply, done) => {
    const route = request.routeOptions.url ?? INVALID_ENDPOINT;
    const machine = request.user?.machineId;
    const bouncer = request.bouncer?.name;
    const ms = reply.elapsedTime;
    metrics.request({ route, method: request.method, seconds: ms / 1000, machine, bouncer });
    const level = accessLogLevel(route);
    if (!logged.has(level)) {
      done();
      return;
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
    logger[level](formatAccessLog(entry, logFormat));
    done();
  });
}
