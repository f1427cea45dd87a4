import { Controller, Get, Header } from '@nestjs/common';

@Controller()
export class HealthController {
  // Same body and cache headers as the reference's /health.
  @Get('health')
  @Header('cache-control', 'no-cache')
  @Header('expires', '-1')
  @Header('pragma', 'no-cache')
  health(): { status: string } {
    return { status: 'up' };
  }
}
