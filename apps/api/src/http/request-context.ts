import type { CommandContext } from '@lapi/application';
import type { Actor } from '@lapi/domain';
import type { FastifyRequest } from 'fastify';
import { clientIp } from './client-ip';

export const requestContext = (request: FastifyRequest, actor: Actor): CommandContext => ({
  actor,
  requestId: String(request.id),
  clientIp: clientIp(request),
});
