import {
  CLOCK,
  DeleteDecision,
  DeleteDecisions,
  FindDecisions,
  PullDecisionStream,
  type Clock,
} from '@lapi/application';
import { instanceStreamKey } from '@lapi/domain';
import type { DeleteResponse } from '@lapi/lapi-contract';
import { decisionListJson, decisionStreamJson } from '@lapi/read-models';
import { Controller, Delete, Get, Inject, Param, Query, Req, Res, UseGuards } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BouncerApiKeyGuard, type RequestWithBouncer } from '../auth/bouncer-api-key.guard';
import { CurrentMachine } from '../auth/current.decorators';
import { MachineJwtGuard } from '../auth/machine-jwt.guard';
import type { MachineIdentity } from '../auth/token.service';
import { handedToNetwork } from '../http/handed-to-network';
import { first, idParam, type QueryParams } from '../http/query-params';
import { requestContext } from '../http/request-context';
import { sendJson, sendJsonChunks, sendRendered } from '../http/send-json';
import { LapiMetrics } from '../metrics/lapi-metrics';
import { parseDecisionDeleteFilter, parseDecisionFilter } from './decision-query.params';

// The stream's default when `scopes` is absent (reference §3.13); an explicit empty `scopes=` matches nothing.
const STREAM_DEFAULT_SCOPES = ['Ip', 'Range'];

@Controller('v1/decisions')
export class DecisionsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: LapiMetrics,
  ) {}

  /** Bouncer live query: active decisions, no dedup, `null` when none. */
  @Get()
  @UseGuards(BouncerApiKeyGuard)
  async find(
    @Query() query: QueryParams,
    @Req() request: RequestWithBouncer,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const decisions = await this.queries.execute(new FindDecisions(positionKeyOf(request), parseDecisionFilter(query)));
    this.metrics.decisionLookup(request.bouncer!.name, decisions.length > 0);
    sendJsonChunks(request, reply, 200, decisionListJson(decisions, this.clock.now()));
  }

  @Get('stream')
  @UseGuards(BouncerApiKeyGuard)
  async stream(
    @Query() query: QueryParams,
    @Req() request: RequestWithBouncer,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const filter = parseDecisionFilter(query, { defaultScopes: STREAM_DEFAULT_SCOPES });
    if (request.method === 'HEAD') {
      // ≥1.5.0: a key check (the AppSec probe), no work and no cursor move.
      sendJson(reply, 200, null);
      return;
    }
    const startup = first(query, 'startup') === 'true';
    await this.commands.execute(
      // Each process sharing the key has its own position (the bouncer's own name for the first one seen).
      new PullDecisionStream(
        positionKeyOf(request),
        filter,
        { startup, dedup: first(query, 'dedup') !== 'false' },
        (page) => {
          const { body } = page;
          this.metrics.streamPull(
            body ? body.newCount + body.deletedCount : page.new.length + page.deleted.length,
            startup,
          );
          const sent = handedToNetwork(reply.raw);
          if (body) {
            return sendRendered(request, reply, 200, body).then(() => sent);
          }
          sendJsonChunks(request, reply, 200, decisionStreamJson(page.new, page.deleted, this.clock.now()));
          return sent;
        },
      ),
    );
  }

  @Delete()
  @UseGuards(MachineJwtGuard)
  async deleteMany(
    @Query() query: QueryParams,
    @CurrentMachine() machine: MachineIdentity,
    @Req() request: FastifyRequest,
  ): Promise<DeleteResponse> {
    const n = await this.commands.execute(
      new DeleteDecisions(
        parseDecisionDeleteFilter(query),
        requestContext(request, { kind: 'machine', id: machine.machineId }),
      ),
    );
    return { nbDeleted: String(n) };
  }

  @Delete(':decision_id')
  @UseGuards(MachineJwtGuard)
  async deleteOne(
    @Param('decision_id') id: string,
    @CurrentMachine() machine: MachineIdentity,
    @Req() request: FastifyRequest,
  ): Promise<DeleteResponse> {
    const n = await this.commands.execute(
      new DeleteDecision(
        idParam(id, 'decision_id'),
        requestContext(request, { kind: 'machine', id: machine.machineId }),
      ),
    );
    return { nbDeleted: String(n) };
  }
}

/** The position key of the process that sent the request (the bouncer's own name for the first one seen). */
const positionKeyOf = (request: RequestWithBouncer): string =>
  instanceStreamKey(request.bouncer!.name, request.bouncerInstance ?? request.bouncer!.name);
