import {
  CLOCK,
  DeleteAlert,
  DeleteAlerts,
  GetAlert,
  presentAlert,
  PushAlerts,
  SearchAlerts,
  type Clock,
} from '@lapi/application';
import type { AlertInput } from '@lapi/domain';
import { mapInSlices, Slicer } from '@lapi/event-store';
import {
  addAlertsRequest,
  alertSchema,
  decisionSchema,
  type AddAlertsRequest,
  type AlertResponse,
  type DeleteResponse,
} from '@lapi/lapi-contract';
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
  type PipeTransform,
} from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
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
import { toAlertInput, toDecisionInput } from './alert-request.mapper';

// An alert with more decisions than this has them validated and mapped in slices (see validInSlices).
const SLICED_DECISIONS = 1_000;
const DECISION_BATCH = 500;
// The alert schema with its decisions left as they are (checked apart); `extend` keeps the key's place.
const alertWithoutDecisions = alertSchema.extend({ decisions: z.unknown() });
const decisionBatch = z.array(decisionSchema);

const hasBigDecisionList = (alert: unknown): alert is { decisions: unknown[] } =>
  typeof alert === 'object' &&
  alert !== null &&
  Array.isArray((alert as { decisions?: unknown }).decisions) &&
  (alert as { decisions: unknown[] }).decisions.length > SLICED_DECISIONS;

/**
 * The body as addAlertsRequest parses it, its big decision lists checked in slices that give the event loop back
 * (one pass over 100k decisions held it for ~0.3 s). Undefined when the body has no big list, or is invalid
 * anywhere: the whole schema then runs at once and words the error as always.
 */
async function validInSlices(value: unknown): Promise<AddAlertsRequest | undefined> {
  if (!Array.isArray(value) || !value.some(hasBigDecisionList)) {
    return undefined;
  }
  const slicer = new Slicer();
  const alerts: AddAlertsRequest = [];
  for (const alert of value) {
    if (!hasBigDecisionList(alert)) {
      const parsed = alertSchema.safeParse(alert);
      if (!parsed.success) {
        return undefined;
      }
      alerts.push(parsed.data);
      continue;
    }
    const parsed = alertWithoutDecisions.safeParse(alert);
    if (!parsed.success) {
      return undefined;
    }
    const decisions: z.infer<typeof decisionSchema>[] = [];
    for (let from = 0; from < alert.decisions.length; from += DECISION_BATCH) {
      const batch = decisionBatch.safeParse(alert.decisions.slice(from, from + DECISION_BATCH));
      if (!batch.success) {
        return undefined;
      }
      for (const decision of batch.data) {
        decisions.push(decision);
      }
      if (slicer.due()) {
        await slicer.pause();
      }
    }
    alerts.push({ ...parsed.data, decisions });
  }
  return alerts;
}

/** The body must be a list; the reference's decoder says so in Go's words. */
class AlertsBodyPipe implements PipeTransform<unknown, Promise<AddAlertsRequest>> {
  private readonly whole = new LapiBodyPipe(addAlertsRequest);

  async transform(value: unknown): Promise<AddAlertsRequest> {
    if (value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof InvalidJsonBody)) {
      throw new LapiHttpError(400, 'json: cannot unmarshal object into Go value of type models.AddAlertsRequest');
    }
    return (await validInSlices(value)) ?? this.whole.transform(value);
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
  async push(
    @Body(new AlertsBodyPipe()) body: AddAlertsRequest,
    @CurrentMachine() machine: MachineIdentity,
    @Req() request: FastifyRequest,
  ): Promise<string[]> {
    const now = this.clock.now();
    const slicer = new Slicer();
    const alerts: AlertInput[] = [];
    for (const a of body) {
      alerts.push(
        (a.decisions?.length ?? 0) > SLICED_DECISIONS
          ? toAlertInput(a, now, await mapInSlices(a.decisions ?? [], toDecisionInput, slicer))
          : toAlertInput(a, now),
      );
    }
    return this.commands.execute(
      new PushAlerts(machine.machineId, alerts, requestContext(request, { kind: 'machine', id: machine.machineId })),
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
