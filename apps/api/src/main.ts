import { ConfigError, loadConfig } from '@lapi/config';
import { acquireDataDirLock, DataDirPermissionError } from '@lapi/event-store';
import { serveMetricsIfFree } from '@lapi/read-models';
import 'reflect-metadata';
import { nextSteps } from './admin/admin-command';
import { startAdminSocket } from './admin/admin-socket';
import { createApiApp, createLogger } from './app.factory';

// Requests in flight get this long after SIGTERM; below the pods' grace after their preStop sleep (deploy/k8s: 5 s
// + 25 s < 35 s) and docker-compose's stop_grace_period (30 s), so the process exits by itself before SIGKILL.
const SHUTDOWN_GRACE_MS = 25_000;

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  const lock = config.database.kind === 'embedded' ? acquireDataDirLock(config.dataDir) : undefined;
  const api = await createApiApp(config);
  const admin = config.database.kind === 'embedded' ? await startAdminSocket(api.app, config.dataDir) : undefined;
  const metricsServer =
    config.metricsListen &&
    (await serveMetricsIfFree(api.metrics, config.metricsListen, (message) => logger.warn(message, 'Main')));
  // Stop taking requests, finish the ones in flight, then close the store.
  const shutdown = (signal: string) => {
    logger.log(`${signal} received, shutting down`, 'Main');
    setTimeout(() => {
      logger.warn('shutdown did not finish in time (a request or the database hung): exiting', 'Main');
      process.exit(1);
    }, SHUTDOWN_GRACE_MS).unref();
    void (async () => {
      await metricsServer?.close();
      await admin?.close();
      await api.close();
      lock?.release();
      process.exit(0);
    })();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  await api.app.listen(config.listen.port, config.listen.host);
  const url = `${config.tls ? 'https' : 'http'}://${config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host}:${config.listen.port}`;
  logger.log(
    `CrowdSec LAPI listening on ${url} (${config.database.kind === 'embedded' ? `embedded database in ${config.dataDir}` : 'PostgreSQL'})`,
    'Main',
  );
  if (metricsServer) {
    logger.log(`metrics on ${metricsServer.url}`, 'Main');
  }
  if (config.logFormat === 'pretty') {
    process.stdout.write(nextSteps(config, url));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof ConfigError || error instanceof DataDirPermissionError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
