import { CheckAllowlisted, GetAllowlist, GetAllowlists } from '@lapi/application';
import {
  bulkCheckAllowlistRequest,
  type BulkCheckAllowlistRequest,
  type BulkCheckAllowlistResponse,
  type CheckAllowlistResponse,
  type GetAllowlistResponse,
} from '@lapi/lapi-contract';
import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseGuards } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { MachineJwtGuard } from '../auth/machine-jwt.guard';
import { LapiHttpError } from '../http/http-errors';
import { LapiBodyPipe } from '../http/lapi-body.pipe';
import { first, type QueryParams } from '../http/query-params';
import { presentAllowlist } from './allowlist.presenter';

// gin's ShouldBindJSON failures are 400s with the decoder's text (controllers/v1/allowlist.go).
const bulkCheckBody = new LapiBodyPipe<BulkCheckAllowlistRequest>(bulkCheckAllowlistRequest, {
  invalidJson: (reason) => new LapiHttpError(400, reason),
  invalid: (message) => new LapiHttpError(400, message),
});

// The reference reads `with_content` as the exact string "true".
const withContent = (query: QueryParams): boolean => first(query, 'with_content') === 'true';

/** Allowlists (reference ≥1.6.6, contract §3.15): read-only over HTTP; `lapi allowlists …` writes them. */
@Controller('v1/allowlists')
@UseGuards(MachineJwtGuard)
export class AllowlistsController {
  constructor(private readonly queries: QueryBus) {}

  @Get()
  async list(@Query() query: QueryParams): Promise<GetAllowlistResponse[]> {
    return (await this.queries.execute(new GetAllowlists(withContent(query)))).map(presentAllowlist);
  }

  // Declared before `:name`, so that `check/…` is never read as a list's name.
  @Get('check/:value')
  async check(
    @Param('value') value: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CheckAllowlistResponse | undefined> {
    const [{ reasons }] = await this.queries.execute(new CheckAllowlisted([value]));
    if (request.method === 'HEAD') {
      void reply.status(reasons.length > 0 ? 200 : 204);
      return undefined;
    }
    // omitempty: a value no list holds is answered `{}`.
    return reasons.length > 0 ? { allowlisted: true, reason: reasons.join(', ') } : {};
  }

  @Post('check')
  @HttpCode(200)
  async bulkCheck(@Body(bulkCheckBody) body: BulkCheckAllowlistRequest): Promise<BulkCheckAllowlistResponse> {
    const targets = body.targets ?? [];
    if (targets.length === 0) {
      throw new LapiHttpError(400, 'targets list cannot be empty');
    }
    const checked = await this.queries.execute(new CheckAllowlisted(targets));
    return {
      results: checked.filter((c) => c.reasons.length > 0).map((c) => ({ allowlists: c.reasons, target: c.value })),
    };
  }

  @Get(':name')
  async get(@Param('name') name: string, @Query() query: QueryParams): Promise<GetAllowlistResponse> {
    return presentAllowlist(await this.queries.execute(new GetAllowlist(name, withContent(query))));
  }
}
