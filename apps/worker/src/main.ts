import { loadNotificationConfigs, loadProfiles } from '@lapi/application';
import { ConfigError, loadConfig } from '@lapi/config';
import { migrateToLatest, openDatabase, PostgresEventStore } from '@lapi/event-store';
import { redisKeys, serveMetricsIfFree, type DecisionGenerations } from '@lapi/read-models';
import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Redis from 'ioredis';
import 'reflect-metadata';
import { WorkerMetrics } from './metrics/worker-metrics';
import { DECISION_GENERATIONS } from './redis.tokens';
import { WorkerModule } from './worker.module';

// Below docker-compose's stop_grace_period for workers (60 s).
const SHUTDOWN_GRACE_MS = 50_000;

async function main(): Promise<void> {
  // The worker signs no tokens; it only needs the store.
  const config = loadConfig(undefined, { requireSecret: false });
  if (config.database.kind === 'embedded') {
    // PGlite belongs to one process: in embedded mode the API process runs the background work itself.
    throw new ConfigError([
      'DATABASE_URL: the worker runs beside a PostgreSQL database; `npm start` alone serves embedded mode',
    ]);
  }
  if (!config.redisUrl) {
    throw new ConfigError(['REDIS_URL: the worker keeps the read models of the cluster in Redis; set REDIS_URL']);
  }
  // The plugins the profiles name, checked as the API checks them: a bad config stops the worker at start-up.
  const used = [...new Set(loadProfiles(config.profilesPath).flatMap((p) => p.notifications))];
  if (used.length > 0 && config.notificationsDir === undefined) {
    throw new ConfigError([`LAPI_NOTIFICATIONS_DIR: profiles name notification plugins (${used.join(', ')})`]);
  }
  const notificationConfigs =
    used.length > 0 ? loadNotificationConfigs(config.notificationsDir!, { used }).byName : new Map();
  const logger = new ConsoleLogger({ json: config.logFormat === 'json', prefix: 'lapi-worker' });
  const database = await openDatabase(config.database);
  await migrateToLatest(database.db);
  // Workers keep retrying while Redis is away rather than failing their jobs (BullMQ's production advice).
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  const app = await NestFactory.createApplicationContext(
    WorkerModule.register({
      database,
      redis,
      redisPrefix: config.redisPrefix,
      notificationConfigs,
      webhook: config.webhook,
      retention: config.retention,
      projectionRetentionMs: config.projectionRetentionMs,
    }),
    { logger },
  );
  let metrics =
    config.metricsListen &&
    new WorkerMetrics(
      redis,
      config.redisPrefix,
      redisKeys(config.redisPrefix),
      app.get<DecisionGenerations>(DECISION_GENERATIONS),
      new PostgresEventStore(database.db),
      config.webhook !== undefined,
    );
  // The default address is the API's too: on one host the first process gets it, the others go on without.
  const metricsServer =
    metrics && (await serveMetricsIfFree(metrics, config.metricsListen!, (message) => logger.warn(message, 'Main')));
  if (metrics && !metricsServer) {
    await metrics.close();
    metrics = undefined;
  }
  logger.log('worker started', 'Main');
  if (metricsServer) {
    logger.log(`metrics on ${metricsServer.url}`, 'Main');
  }
  const shutdown = (signal: string) => {
    logger.log(`${signal} received, shutting down`, 'Main');
    // Jobs in progress get this long; a shutdown that waits on an unreachable Redis must not hang until SIGKILL.
    setTimeout(() => {
      logger.warn('shutdown did not finish in time (is Redis reachable?): exiting', 'Main');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    void (async () => {
      await metricsServer?.close();
      await metrics?.close();
      await app.close();
      redis.disconnect();
      await database.close();
      process.exit(0);
    })();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
