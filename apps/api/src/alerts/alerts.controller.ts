import { CLOCK, DeleteAlert, DeleteAlerts, GetAlert, PushAlerts, SearchAlerts, type Clock } from '@lapi/application';
import { addAlertsRequest, type AddAlertsRequest, type AlertResponse, type DeleteResponse } from '@lapi/lapi-contract';
import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentMachine } from '../auth/current.decorators';
import { MachineJwtGuard } from '../auth/machine-jwt.guard';
import type { MachineIdentity } from '../auth/token.service';
import { TrustedIpGuard } from '../auth/trusted-ip.guard';
import { InvalidJsonBody, LapiHttpError } from '../http/http-errors';
import { LapiBodyPipe } from '../http/lapi-body.pipe';
import { idParam, type QueryParams } from '../http/query-params';
import { requestContext } from '../http/request-context';
import { sendJson } from '../http/send-json';
import { parseAlertQuery } from './alert-query.params';
import { toAlertInput } from './alert-request.mapper';
import { presentAlert } from './alert.presenter';

/** The body must be a list; the reference's decoder says so in Go's words. */
class AlertsBodyPipe extends LapiBodyPipe<AddAlertsRequest> {
  constructor() {
    super(addAlertsRequest);
  }
  override transform(value: unknown): AddAlertsRequest {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof InvalidJsonBody)) {
      throw new LapiHttpError(400, 'json: cannot unmarshal object into Go value of type models.AddAlertsRequest');
    }
    return super.transform(value);
  }
}

@Controller('v1/alerts')
@UseGuards(MachineJwtGuard)
export class AlertsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Post()
  @HttpCode(201)
  push(
    @Body(new AlertsBodyPipe()) body: AddAlertsRequest,
    @CurrentMachine() machine: MachineIdentity,
    @Req() request: FastifyRequest,
  ): Promise<string[]> {
    const now = this.clock.now();
    return this.commands.execute(
      new PushAlerts(
        machine.machineId,
        body.map((a) => toAlertInput(a, now)),
        requestContext(request, { kind: 'machine', id: machine.machineId }),
      ),
    );
  }

  @Get()
  async search(@Query() query: QueryParams, @Res() reply: FastifyReply): Promise<void> {
    const now = this.clock.now();
    const q = parseAlertQuery(query, now);
    const alerts = await this.queries.execute(new SearchAlerts(q.filter, q));
    sendJson(reply, 200, alerts.length ? alerts.map((a) => presentAlert(a, now)) : null);
  }

  @Get(':alert_id')
  async get(@Param('alert_id') id: string): Promise<AlertResponse> {
    const alert = await this.queries.execute(new GetAlert(idParam(id, 'alert_id')));
    if (!alert) {
      throw new LapiHttpError(404, 'object not found');
    }
    return presentAlert(alert, this.clock.now());
  }

  @Delete()
  @UseGuards(TrustedIpGuard)
  async deleteMany(
    @Query() query: QueryParams,
    @CurrentMachine() machine: MachineIdentity,
    @Req() request: FastifyRequest,
  ): Promise<DeleteResponse> {
    // limit and sort are accepted and ignored here: every matching alert goes (reference §3.8).
    const { filter } = parseAlertQuery(query, this.clock.now());
    const n = await this.commands.execute(
      new DeleteAlerts(filter, requestContext(request, { kind: 'machine', id: machine.machineId })),
    );
    return { nbDeleted: String(n) };
  }

  @Delete(':alert_id')
  @UseGuards(TrustedIpGuard)
  async deleteOne(
    @Param('alert_id') id: string,
    @CurrentMachine() machine: MachineIdentity,
    @Req() request: FastifyRequest,
  ): Promise<DeleteResponse> {
    const n = await this.commands.execute(
      new DeleteAlert(idParam(id, 'alert_id'), requestContext(request, { kind: 'machine', id: machine.machineId })),
    );
    return { nbDeleted: String(n) };
  }
}
