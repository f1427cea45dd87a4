import { Controller, Get, Header, Inject } from '@nestjs/common';
import { LapiHttpError } from '../http/http-errors';
import { Readiness } from './readiness';

@Controller()
export class HealthController {
  constructor(@Inject(Readiness) private readonly readiness: Readiness) {}

  // Same body and cache headers as the reference's /health.
  @Get('health')
  @Header('cache-control', 'no-cache')
  @Header('expires', '-1')
  @Header('pragma', 'no-cache')
  health(): { status: string } {
    return { status: 'up' };
  }

  /** Not the reference's: for load balancers and Kubernetes, whether this replica should get traffic now. */
  @Get('health/ready')
  @Header('cache-control', 'no-cache')
  async ready(): Promise<{ status: string }> {
    const verdict = await this.readiness.check();
    if (!verdict.ready) {
      throw new LapiHttpError(503, verdict.message);
    }
    return { status: 'ready' };
  }
}
