import {
  ApplicationModule,
  RedisCredentialChanges,
  runAdminRequest,
  type AdminRequest,
  type CredentialChanges,
} from '@lapi/application';
import type { AppConfig } from '@lapi/config';
import { acquireDataDirLock, adminSocketPath, migrateToLatest, openDatabase } from '@lapi/event-store';
import { redisKeys } from '@lapi/projections';
import { NestFactory } from '@nestjs/core';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import Redis from 'ioredis';
import { request } from 'node:http';

/** An admin request failed for a reason the user should read (unknown machine, duplicate name…). */
export class AdminError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Transport = 'server' | 'direct';

/**
 * Runs an admin request where the data is: against Postgres directly, or in embedded mode through the running
 * server's admin socket (PGlite must not be opened by two processes), else directly on the stopped server's files.
 */
export async function sendAdminRequest(
  config: AppConfig,
  req: AdminRequest | { op: 'migrate' },
): Promise<{ result: unknown; via: Transport }> {
  if (config.database.kind === 'embedded') {
    const viaSocket = await trySocket(adminSocketPath(config.dataDir), req);
    if (viaSocket !== undefined) {
      return { result: viaSocket, via: 'server' };
    }
  }
  return { result: await runDirect(config, req), via: 'direct' };
}

async function runDirect(config: AppConfig, req: AdminRequest | { op: 'migrate' }): Promise<unknown> {
  const lock = config.database.kind === 'embedded' ? acquireDataDirLock(config.dataDir) : undefined;
  try {
    const database = await openDatabase(config.database, { maxConnections: 2 });
    try {
      const migrated = await migrateToLatest(database.db);
      if (req.op === 'migrate') {
        return { migrated };
      }
      const cluster = clusterCredentialChanges(config);
      const context = await NestFactory.createApplicationContext(
        ApplicationModule.register({ database, credentialChanges: cluster?.changes }),
        { logger: false, abortOnError: false },
      );
      try {
        return await runAdminRequest(req, { commands: context.get(CommandBus), queries: context.get(QueryBus) });
      } catch (error) {
        throw toAdminError(error);
      } finally {
        await context.close();
        cluster?.redis.disconnect();
      }
    } finally {
      await database.close();
    }
  } finally {
    lock?.release();
  }
}

/**
 * In cluster mode the API replicas cache credentials: the machines and bouncers deleted here are announced to them
 * over Redis (connected only when one is). Without Redis, no API process caches what this one changes.
 */
function clusterCredentialChanges(config: AppConfig): { changes: CredentialChanges; redis: Redis } | undefined {
  if (!config.redisUrl || config.database.kind !== 'postgres') {
    return undefined;
  }
  // One attempt: a command-line run reports an unreachable Redis rather than waiting for it.
  const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined); // the failed announcement says it
  const changes = new RedisCredentialChanges(redis, redisKeys(config.redisPrefix).credentialChanges, (message) =>
    process.stderr.write(`warning: ${message}\n`),
  );
  return { changes, redis };
}

const toAdminError = (error: unknown): unknown => {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return error instanceof Error && typeof code === 'string' ? new AdminError(code, error.message) : error;
};

/** The server's answer, or undefined when no server listens on the socket. */
function trySocket(socketPath: string, req: AdminRequest | { op: 'migrate' }): Promise<unknown> {
  if (req.op === 'migrate') {
    // A running server migrated at start; nothing to hand over.
    return connectable(socketPath).then((up) => (up ? { migrated: [] } : undefined));
  }
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(req);
    const r = request(
      {
        socketPath,
        path: '/',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              result?: unknown;
              error?: { code: string; message: string };
            };
            if (parsed.error) {
              reject(new AdminError(parsed.error.code, parsed.error.message));
            } else {
              resolve(parsed.result ?? null);
            }
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    r.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
        resolve(undefined);
      } else {
        reject(error);
      }
    });
    r.end(body);
  });
}

function connectable(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const r = request({ socketPath, path: '/', method: 'GET' }, (res) => {
      res.resume();
      resolve(true);
    });
    r.on('error', () => resolve(false));
    r.end();
  });
}
