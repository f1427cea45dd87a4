import { ConfigError, loadConfig } from '@lapi/config';
import { migrateToLatest, openDatabase } from '@lapi/event-store';
import { ConsoleLogger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import 'reflect-metadata';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  // The worker signs no tokens; it only needs the store.
  const config = loadConfig(undefined, { requireSecret: false });
  if (config.database.kind === 'embedded') {
    // PGlite belongs to one process: in embedded mode the API process runs the background work itself.
    throw new ConfigError([
      'DATABASE_URL: the worker runs beside a PostgreSQL database; `npm start` alone serves embedded mode',
    ]);
  }
  const logger = new ConsoleLogger({ json: config.logFormat === 'json', prefix: 'lapi-worker' });
  const database = await openDatabase(config.database);
  await migrateToLatest(database.db);
  const app = await NestFactory.createApplicationContext(WorkerModule.register({ database }), { logger });
  logger.log('worker started', 'Main');
  const shutdown = (signal: string) => {
    logger.log(`${signal} received, shutting down`, 'Main');
    void (async () => {
      await app.close();
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
