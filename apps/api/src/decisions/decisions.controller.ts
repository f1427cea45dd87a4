import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { BouncerApiKeyGuard } from '../auth/bouncer-api-key.guard';

@Controller('v1')
export class DecisionsController {
  /** Bouncer live query. No decisions exist yet: the reference's empty answer is the JSON `null`. */
  @Get('decisions')
  @UseGuards(BouncerApiKeyGuard)
  @Header('content-type', 'application/json; charset=utf-8')
  getDecisions(): string {
    return 'null';
  }
}
