import {
  BcryptWorkerPool,
  CREDENTIAL_CHANGES,
  systemClock,
  type Clock,
  type CredentialChange,
  type CredentialChanges,
} from '@lapi/application';
import type { AppConfig } from '@lapi/config';
import { printable } from '@lapi/domain';
import { migrateToLatest, openDatabase, type DatabaseHandle, type RecordedEvent } from '@lapi/event-store';
import { ConsoleLogger, Logger, type LogLevel as NestLogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createProfileEngine } from './alerts/profiles';
import { ApiModule } from './api.module';
import { MemoryFailureCounter } from './auth/failure-counters';
import { resolveJwtSecret } from './auth/jwt-secret';
import { LoginThrottle } from './auth/login-throttle';
import { RequestCredentials } from './auth/request-credentials';
import { startClusterMode } from './cluster/cluster-mode';
import { Readiness, readinessSources } from './health/readiness';
import { trustedProxies } from './http/client-ip';
import { drainHttp } from './http/drain';
import { createFastifyAdapter } from './http/fastify-setup';
import { LapiExceptionFilter } from './http/lapi-exception.filter';
import type { RouteTable } from './http/route-table';
import { StorableQueryPipe } from './http/storable-query.pipe';
import { loadTlsServer } from './http/tls-server';
import { startMemoryMode } from './memory/memory-mode';
import { instrumentHttp } from './metrics/http-instrumentation';
import { LapiMetrics } from './metrics/lapi-metrics';
import { metricsSources } from './metrics/metrics-sources';
import { startDatabaseNotifications } from './notifications/database-notifications';

export interface ApiApp {
  readonly app: NestFastifyApplication;
  readonly database: DatabaseHandle;
  /** The routes Fastify registered (tests check each is covered). */
  readonly routes: RouteTable;
  /** What the metrics listener serves (main.ts starts it: LAPI_METRICS_LISTEN_URI). */
  readonly metrics: LapiMetrics;
  close(): Promise<void>;
}

const NEST_LEVELS: Record<AppConfig['logLevel'], NestLogLevel[]> = {
  error: ['fatal', 'error'],
  warn: ['fatal', 'error', 'warn'],
  info: ['fatal', 'error', 'warn', 'log'],
  debug: ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'],
};

/** Messages carry client-chosen text (machine names, user agents, paths): a pretty line shows its controls escaped. */
class PrintableConsoleLogger extends ConsoleLogger {
  protected override colorize(message: string, logLevel: NestLogLevel): string {
    return super.colorize(printable(message), logLevel);
  }
}

export const createLogger = (config: AppConfig): ConsoleLogger =>
  new PrintableConsoleLogger({
    json: config.logFormat === 'json',
    logLevels: NEST_LEVELS[config.logLevel],
    prefix: 'lapi',
  });

/** Opens and migrates the store, then builds the HTTP app (not yet listening). */
export async function createApiApp(
  config: AppConfig,
  database?: DatabaseHandle,
  options: { clock?: Clock } = {},
): Promise<ApiApp> {
  const db = database ?? (await openDatabase(config.database));
  await migrateToLatest(db.db);
  const jwtSecret = resolveJwtSecret(config);
  const cluster = await startClusterMode(config);
  const memory = cluster
    ? undefined
    : await startMemoryMode(config, db, () => (options.clock ?? systemClock).now().getTime());
  const profiles = createProfileEngine(config.profilesPath, config.notificationsDir);
  const tls = config.tls && loadTlsServer(config.tls, (message) => createLogger(config).error(message, 'TlsAuth'));
  const { adapter, routes, bodyLimit } = createFastifyAdapter({
    trustedProxies: trustedProxies(config.trustedProxies),
    https: tls?.https,
  });
  const metrics = new LapiMetrics(metricsSources(db, options.clock ?? systemClock, cluster, memory?.decisions));
  if (cluster) {
    cluster.barrier.onWait = (ms) => metrics.writeWaited(ms);
  }
  instrumentHttp(adapter.getInstance(), metrics, config.logFormat, NEST_LEVELS[config.logLevel]);
  const app = await NestFactory.create<NestFastifyApplication>(
    ApiModule.register({
      database: db,
      jwtSecret,
      jwtSecretPrevious: config.jwtSecretPrevious,
      // Shared by the replicas in a cluster; this process's own otherwise.
      loginThrottle: new LoginThrottle(cluster?.loginFailures ?? new MemoryFailureCounter(), config.loginThrottle),
      passwordHasher: new BcryptWorkerPool({ maxQueued: config.bcryptMaxQueued }),
      api: {
        disableRemoteRegistration: config.disableRemoteRegistration,
        autoRegistration: config.autoRegistration,
        trustedIps: config.trustedIps,
        clientCertificates: tls?.clientCertificates,
        usageMetricsMaxAgeMs: config.usageMetricsMaxAgeMs,
      },
      profiles,
      clock: options.clock,
      decisions: cluster ?? memory!,
      credentialChanges: cluster?.credentialChanges,
      // In a cluster the workers run it.
      retention: cluster ? undefined : config.retention,
      readiness: new Readiness(readinessSources(db, cluster?.projection), config.readyMaxLagMs),
      metrics,
    }),
    adapter,
    { bodyParser: false, logger: createLogger(config), abortOnError: false },
  );
  const credentials = app.get(RequestCredentials);
  bodyLimit.useCredentialCheck((request) => credentials.valid(request));
  app.useGlobalFilters(new LapiExceptionFilter(routes));
  app.useGlobalPipes(new StorableQueryPipe());
  await app.init();
  // A deleted bouncer's stream positions and lookup times go with it, in every replica (each drops what it keeps).
  const reader = (cluster ?? memory!).reader;
  const credentialChanges = app.get<CredentialChanges>(CREDENTIAL_CHANGES);
  if (memory && db.kind === 'postgres') {
    // PostgreSQL without Redis: deletions made by other processes (the CLI, other API processes) reach this one
    // through the log it follows (within FOLLOW_EVERY_MS), as Redis announcements do in a cluster.
    memory.decisions.observe((event) => {
      const change = credentialChangeOf(event);
      if (change) {
        void credentialChanges.announce(change);
      }
    });
  }
  credentialChanges.follow((change) => {
    if (change.kind === 'bouncer-deleted') {
      reader
        .forget(change.name)
        .catch((error: Error) =>
          new Logger('BouncerPositions').warn(`positions of deleted bouncer not dropped: ${error.message}`),
        );
    }
  });
  // In a cluster the workers deliver them.
  const notifications = cluster
    ? undefined
    : await startDatabaseNotifications(db, profiles.notificationConfigs, {
        now: () => (options.clock ?? systemClock).now().getTime(),
      });
  return {
    app,
    database: db,
    routes,
    metrics,
    close: async () => {
      // Requests in flight are answered before the shutdown hooks close Redis and the database.
      await drainHttp(app.getHttpServer());
      await notifications?.stop();
      await app.close();
      metrics.close();
      await cluster?.close();
      await memory?.close();
      if (!database) {
        await db.close();
      }
    },
  };
}

/** The credential an event deletes, if any. */
const credentialChangeOf = (event: RecordedEvent): CredentialChange | undefined =>
  event.type === 'BouncerDeleted'
    ? { kind: 'bouncer-deleted', name: (event.data as { name: string }).name }
    : event.type === 'MachineDeleted'
      ? { kind: 'machine-deleted', machineId: (event.data as { machineId: string }).machineId }
      : undefined;
