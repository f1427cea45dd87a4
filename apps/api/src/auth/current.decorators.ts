import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { MachineIdentity } from './token.service';

export const CurrentMachine = createParamDecorator(
  (_: unknown, context: ExecutionContext): MachineIdentity =>
    context.switchToHttp().getRequest<FastifyRequest & { user: MachineIdentity }>().user,
);
