import { RecordUsageMetrics } from '@lapi/application';
import { usageMetricsRequest, type UsageMetricsRequest } from '@lapi/lapi-contract';
import { Body, Controller, HttpCode, Inject, Post, Req, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import type { FastifyRequest } from 'fastify';
import { API_OPTIONS, type ApiOptions } from '../api-options';
import type { RequestWithBouncer } from '../auth/bouncer-api-key.guard';
import { MachineOrBouncerGuard } from '../auth/machine-or-bouncer.guard';
import type { MachineIdentity } from '../auth/token.service';
import { LapiBodyPipe } from '../http/lapi-body.pipe';
import { requestContext } from '../http/request-context';

type UsageMetricsCaller = RequestWithBouncer & { user?: MachineIdentity };

@Controller('v1')
export class UsageMetricsController {
  constructor(
    private readonly commands: CommandBus,
    @Inject(API_OPTIONS) private readonly options: ApiOptions,
  ) {}

  /** 201 empty (newer bouncers warn on anything else); the report is kept for LAPI_METRICS_MAX_AGE. */
  @Post('usage-metrics')
  @HttpCode(201)
  @UseGuards(MachineOrBouncerGuard)
  async record(
    @Body(new LapiBodyPipe(usageMetricsRequest)) body: UsageMetricsRequest,
    @Req() request: FastifyRequest,
  ): Promise<void> {
    const caller = request as UsageMetricsCaller;
    const [kind, name] = caller.bouncer
      ? (['bouncer', caller.bouncer.name] as const)
      : (['machine', caller.user!.machineId] as const);
    await this.commands.execute(
      new RecordUsageMetrics(
        kind,
        name,
        body,
        this.options.usageMetricsMaxAgeMs,
        requestContext(request, { kind, id: name }),
      ),
    );
  }
}
