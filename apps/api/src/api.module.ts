import {
  ApplicationModule,
  RETENTION_POLICY,
  type Clock,
  type CredentialChanges,
  type DecisionReader,
  type PasswordHasher,
  type ProfileEngine,
  type ProjectionBarrier,
  type RetentionPolicy,
} from '@lapi/application';
import type { DatabaseHandle } from '@lapi/event-store';
import { Module, type DynamicModule } from '@nestjs/common';
import { AlertsController } from './alerts/alerts.controller';
import { AllowlistsController } from './allowlists/allowlists.controller';
import { API_OPTIONS, type ApiOptions } from './api-options';
import { BouncerApiKeyGuard } from './auth/bouncer-api-key.guard';
import { BouncerKeys } from './auth/bouncer-keys';
import { BouncerSightings } from './auth/bouncer-sightings';
import { LoginThrottle } from './auth/login-throttle';
import { MachineJwtGuard } from './auth/machine-jwt.guard';
import { MachineJwtStrategy } from './auth/machine-jwt.strategy';
import { MachineOrBouncerGuard } from './auth/machine-or-bouncer.guard';
import { MachineTokenCheck } from './auth/machine-token-check';
import { RequestCredentials } from './auth/request-credentials';
import { TokenService } from './auth/token.service';
import { TrustedIpGuard } from './auth/trusted-ip.guard';
import { DecisionsController } from './decisions/decisions.controller';
import { HealthController } from './health/health.controller';
import { Readiness } from './health/readiness';
import { LapiMetrics } from './metrics/lapi-metrics';
import { RetentionTimer } from './retention/retention-timer';
import { UsageMetricsController } from './usage-metrics/usage-metrics.controller';
import { WatchersController } from './watchers/watchers.controller';

const controllers = [
  HealthController,
  WatchersController,
  AlertsController,
  DecisionsController,
  AllowlistsController,
  UsageMetricsController,
];
const auth = [
  MachineJwtStrategy,
  MachineJwtGuard,
  MachineOrBouncerGuard,
  MachineTokenCheck,
  BouncerKeys,
  BouncerApiKeyGuard,
  BouncerSightings,
  TrustedIpGuard,
  RequestCredentials,
];

@Module({})
export class ApiModule {
  static register(options: {
    database: DatabaseHandle;
    jwtSecret: string;
    /** During a rotation: tokens it signed are still accepted. */
    jwtSecretPrevious?: string;
    loginThrottle: LoginThrottle;
    passwordHasher: PasswordHasher;
    api: ApiOptions;
    profiles: ProfileEngine;
    clock?: Clock;
    /** Where bouncers read decisions and what writes wait for (see ApplicationModule). */
    decisions: { reader: DecisionReader; barrier: ProjectionBarrier };
    /** Cluster mode: deletions of machines and bouncers announced to every replica. */
    credentialChanges?: CredentialChanges;
    /** Runs the retention in this process (no worker without Redis). */
    retention?: RetentionPolicy;
    /** Prometheus metrics: the decisions controller counts lookups and stream sizes. */
    metrics: LapiMetrics;
    /** GET /health/ready. */
    readiness: Readiness;
  }): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ApplicationModule.register({
          database: options.database,
          profiles: options.profiles,
          clock: options.clock,
          decisions: options.decisions,
          credentialChanges: options.credentialChanges,
          passwordHasher: options.passwordHasher,
        }),
      ],
      controllers,
      providers: [
        ...auth,
        { provide: TokenService, useValue: new TokenService(options.jwtSecret, options.jwtSecretPrevious) },
        { provide: LoginThrottle, useValue: options.loginThrottle },
        { provide: API_OPTIONS, useValue: options.api },
        { provide: LapiMetrics, useValue: options.metrics },
        { provide: Readiness, useValue: options.readiness },
        ...(options.retention ? [{ provide: RETENTION_POLICY, useValue: options.retention }, RetentionTimer] : []),
      ],
    };
  }
}
