import { runAdminRequest, type AdminContext, type AdminRequest } from '@lapi/application/admin/admin-operations';
import { alertAppends, decideAlerts } from '@lapi/application/alerts/alert-writes';
import type { ProfileEngine } from '@lapi/application/alerts/profile-engine';
import { BcryptWorkerPool } from '@lapi/application/machines/password-hasher';
import {
  LocalCredentialChanges,
  type CredentialChange,
  type CredentialChanges,
} from '@lapi/application/shared/credential-changes';
import { inlineProjections } from '@lapi/application/shared/inline-projections';
import { systemClock, toMetadata } from '@lapi/application/shared/ports';
import type { AppConfig } from '@lapi/config';
import {
  acquireDataDirLock,
  migrateIfBehind,
  migrateToLatest,
  openDatabase,
  PostgresEventStore,
  type DatabaseHandle,
} from '@lapi/event-store';
import type { INestApplicationContext } from '@nestjs/common';
import type Redis from 'ioredis';
import { AdminError } from './admin-client';

// The admin CLI's own path to the database: the application's writes over one connection, built by hand. Nest
// (hundreds of milliseconds to load) and Redis come in only for the requests that need them.

interface Session {
  readonly admin: DirectAdmin;
  close(): Promise<void>;
}

/** A session kept open for the next requests of this process (`bouncers list` sends two). */
let kept: Promise<Session> | undefined;

/** Runs one request; with `keep`, on a session left open for the next ones until closeKeptSession(). */
export async function runDirect(
  config: AppConfig,
  req: AdminRequest | { op: 'migrate' },
  keep = false,
): Promise<unknown> {
  if (req.op === 'migrate') {
    return withDatabase(config, async (database) => ({ migrated: await migrateToLatest(database.db) }));
  }
  const session = keep ? await (kept ??= openSession(config)) : await openSession(config);
  try {
    return await runAdminRequest(req, session.admin);
  } catch (error) {
    throw toAdminError(error);
  } finally {
    if (!keep) {
      await session.close();
    }
  }
}

export async function closeKeptSession(): Promise<void> {
  const session = kept;
  kept = undefined;
  await (await session?.catch(() => undefined))?.close();
}

async function withDatabase<T>(config: AppConfig, run: (database: DatabaseHandle) => Promise<T>): Promise<T> {
  const lock = config.database.kind === 'embedded' ? acquireDataDirLock(config.dataDir) : undefined;
  try {
    const database = await openDatabase(config.database, { maxConnections: 1 });
    try {
      return await run(database);
    } finally {
      await database.close();
    }
  } finally {
    lock?.release();
  }
}

async function openSession(config: AppConfig): Promise<Session> {
  // One connection; the schema is checked by reading its version, and migrated only when behind.
  const lock = config.database.kind === 'embedded' ? acquireDataDirLock(config.dataDir) : undefined;
  let database: DatabaseHandle | undefined;
  try {
    database = await openDatabase(config.database, { maxConnections: 1 });
    await migrateIfBehind(database.db);
  } catch (error) {
    await database?.close();
    lock?.release();
    throw error;
  }
  const admin = new DirectAdmin(config, database);
  return {
    admin,
    close: async () => {
      try {
        await admin.close();
        await database.close();
      } finally {
        lock?.release();
      }
    },
  };
}

/** For the CLI, which never receives alerts from agents: its alerts carry their decisions, so profiles never run. */
const noProfiles: ProfileEngine = {
  evaluate: () => Promise.reject(new Error('no profiles are loaded in this process: alerts are received by the API')),
  notifies: false,
};

class DirectAdmin implements AdminContext {
  readonly deps;
  readonly credentials: CredentialChanges;
  private pool: BcryptWorkerPool | undefined;
  private nest: INestApplicationContext | undefined;
  private redis: Redis | undefined;

  constructor(
    private readonly config: AppConfig,
    private readonly database: DatabaseHandle,
  ) {
    this.deps = { database, store: new PostgresEventStore(database.db, inlineProjections), clock: systemClock };
    this.credentials =
      config.redisUrl && config.database.kind === 'postgres'
        ? { announce: (change) => this.announceToCluster(change), follow: () => undefined }
        : new LocalCredentialChanges();
  }

  /**
   * The CLI notes none. With PostgreSQL and no Redis, servers it cannot ask write theirs once a minute: a listing
   * may show a last pull up to that old (embedded mode goes through the server's socket, a cluster asks its replicas).
   */
  flushPullTimes(): Promise<void> {
    return Promise.resolve();
  }

  hasher(): BcryptWorkerPool {
    return (this.pool ??= new BcryptWorkerPool({ maxQueued: Number.POSITIVE_INFINITY }));
  }

  async pushAlerts(
    machineId: string,
    alerts: Parameters<AdminContext['pushAlerts']>[1],
    context: Parameters<AdminContext['pushAlerts']>[2],
  ) {
    const now = this.deps.clock.now();
    const events = await decideAlerts(this.database, noProfiles, alerts, machineId, now);
    if (events.length > 0) {
      await this.deps.store.appendToStreams(alertAppends(events), { metadata: toMetadata(context, now) });
    }
    return events.map((e) => String(e.data.alertId));
  }

  /** No read model lives in this process: the server follows the log by itself. */
  settle(): Promise<void> {
    return Promise.resolve();
  }

  async buses() {
    await import('reflect-metadata'); // before any decorated class is read
    const [{ ApplicationModule }, { NestFactory }, { CommandBus, QueryBus }] = await Promise.all([
      import('@lapi/application'),
      import('@nestjs/core'),
      import('@nestjs/cqrs'),
    ]);
    this.nest ??= await NestFactory.createApplicationContext(
      ApplicationModule.register({
        database: this.database,
        credentialChanges: this.credentials,
        passwordHasher: this.hasher(),
      }),
      { logger: false, abortOnError: false },
    );
    return { commands: this.nest.get(CommandBus), queries: this.nest.get(QueryBus) };
  }

  /**
   * In cluster mode the API replicas cache credentials: the machines and bouncers deleted here are announced to
   * them over Redis, connected at the first deletion. Without Redis, no API process caches what this one changes.
   */
  private async announceToCluster(change: CredentialChange): Promise<void> {
    const [{ default: IORedis }, { RedisCredentialChanges }, { redisKeys }] = await Promise.all([
      import('ioredis'),
      import('@lapi/application/shared/credential-changes'),
      import('@lapi/read-models/coordination/redis-keys'),
    ]);
    // One attempt: a command-line run reports an unreachable Redis rather than waiting for it.
    if (!this.redis) {
      this.redis = new IORedis(this.config.redisUrl!, {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        retryStrategy: () => null,
      });
      this.redis.on('error', () => undefined); // the failed announcement says it
    }
    const changes = new RedisCredentialChanges(this.redis, redisKeys(this.config.redisPrefix).credentialChanges, (m) =>
      process.stderr.write(`warning: ${m}\n`),
    );
    await changes.announce(change);
  }

  async close(): Promise<void> {
    await this.nest?.close();
    await this.pool?.close();
    this.redis?.disconnect();
  }
}

const toAdminError = (error: unknown): unknown => {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  return error instanceof Error && typeof code === 'string' ? new AdminError(code, error.message) : error;
};
