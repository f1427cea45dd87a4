// The pieces of a cluster that are not ours, run privately on loopback for the cluster e2e suite:
// - a Redis server of its own (no persistence) on a free port, so the suite can FLUSHALL it without touching the
//   shared 127.0.0.1:6379 that other tests use;
// - our API in cluster mode (startClusterTarget): a scratch PostgreSQL database, that Redis and one worker process;
// - Debian's HAProxy in front of the API replicas, from a generated config shaped like deploy/haproxy/haproxy.cfg
//   (round robin, health checks on /health, only connection failures retried) with quick checks, and a response
//   header naming the replica that served each request.
import { createScratchDatabase } from '@lapi/testing';
import Redis from 'ioredis';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable, sleep, startBackground, type BackgroundProcess } from './reference';
import {
  childEnv,
  describeResult,
  freePort,
  postgresEnv,
  REPO_ROOT,
  runLapi,
  startServer,
  type Env,
  type RunningServer,
} from './server';

export const WORKER_ENTRY = join(REPO_ROOT, 'dist', 'apps', 'worker', 'src', 'main.js');

/** Response header HAProxy adds: the name of the server (replica) that answered. */
export const SERVED_BY = 'x-served-by';

export interface PrivateRedis {
  readonly url: string;
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

export async function startPrivateRedis(dir: string): Promise<PrivateRedis> {
  const bin = findExecutable('redis-server');
  if (!bin) {
    throw new Error('redis-server is not installed (Debian package redis-server; .ci/run installs it)');
  }
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const proc = startBackground(bin, args, { cwd: dir });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (proc.exited()) {
        throw new Error(`redis-server exited (${proc.exitDescription()})\n${proc.output()}`);
      }
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') {
          break;
        }
      } catch {
        probe.disconnect();
      }
      if (Date.now() > deadline) {
        await proc.stop(2000);
        throw new Error(`redis-server did not answer PING on ${url}\n${proc.output()}`);
      }
      await sleep(100);
    }
  } finally {
    probe.disconnect();
  }
  return { url, pid: proc.pid, output: proc.output, stop: () => proc.stop(5000) };
}

export interface ClusterTarget {
  /** DATABASE_URL, REDIS_URL and LAPI_REDIS_PREFIX: what the CLI needs to reach this cluster. */
  readonly env: Env;
  readonly server: RunningServer;
  /** Stops the API and the worker, then Redis, and drops the database. */
  stop(): Promise<void>;
}

/**
 * Our server in cluster mode: a scratch PostgreSQL database named after `database`, a private Redis (keys under
 * `redisPrefix`), the migrations run by `lapi migrate`, one worker process (it projects the bouncers' read model into
 * Redis, so what a bouncer sees lags the writes: poll) and one API process.
 */
export async function startClusterTarget(
  dir: string,
  opts: { database: string; redisPrefix: string },
): Promise<ClusterTarget> {
  const redis = await startPrivateRedis(join(dir, 'redis'));
  const db = await createScratchDatabase(opts.database);
  let worker: BackgroundProcess | undefined;
  const stop = async (server?: RunningServer) => {
    await Promise.all([server?.stop(), worker?.stop()]);
    await redis.stop();
    await db.drop();
  };
  try {
    const env: Env = {
      ...postgresEnv(db.url, join(dir, 'data')),
      REDIS_URL: redis.url,
      LAPI_REDIS_PREFIX: opts.redisPrefix,
    };
    const migrated = await runLapi(['migrate'], env);
    if (migrated.code !== 0) {
      throw new Error(describeResult('lapi migrate', migrated));
    }
    worker = startBackground(process.execPath, [WORKER_ENTRY], { cwd: REPO_ROOT, env: childEnv(env) });
    const server = await startServer({ env });
    return { env, server, stop: () => stop(server) };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface Haproxy {
  readonly url: string;
  readonly configPath: string;
  output(): string;
  stop(): Promise<void>;
}

export interface Backend {
  name: string;
  port: number;
}

/** HAProxy config: loopback copy of deploy/haproxy/haproxy.cfg with checks every 200 ms. */
export function haproxyConfig(port: number, backends: readonly Backend[]): string {
  return [
    'global',
    '    maxconn 4096',
    'defaults',
    '    mode http',
    '    timeout connect 2s',
    '    timeout client 30s',
    '    timeout server 30s',
    '    timeout http-request 10s',
    '    timeout http-keep-alive 10s',
    '    timeout queue 10s',
    // As in production: only connection failures are retried, on another replica (alerts are not idempotent).
    '    retries 2',
    '    option redispatch',
    // A killed replica fails its check at once (connection refused); a live one slowed by a loaded machine gets 1 s
    // to answer (by default the check's timeout is `inter`: 200 ms marked live replicas down, and HAProxy said 503).
    '    timeout check 1s',
    '    default-server check inter 200ms fall 1 rise 2',
    'frontend lapi',
    `    bind 127.0.0.1:${port}`,
    '    http-request del-header X-Forwarded-For',
    '    option forwardfor',
    '    default_backend lapi_api',
    'backend lapi_api',
    '    balance roundrobin',
    '    option httpchk',
    '    http-check send meth GET uri /health ver HTTP/1.1 hdr Host lapi',
    '    http-check expect status 200',
    `    http-response set-header ${SERVED_BY} %s`,
    ...backends.map((b) => `    server ${b.name} 127.0.0.1:${b.port}`),
    '',
  ].join('\n');
}

export async function startHaproxy(dir: string, backends: readonly Backend[]): Promise<Haproxy> {
  const bin = findExecutable('haproxy', process.env.HAPROXY_BIN);
  if (!bin) {
    throw new Error(
      'haproxy is not installed (Debian package haproxy; .ci/run installs it before the tests: apt-get install haproxy)',
    );
  }
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const configPath = join(dir, 'haproxy.cfg');
  writeFileSync(configPath, haproxyConfig(port, backends));
  // -db: foreground, no daemon.
  const proc: BackgroundProcess = startBackground(bin, ['-db', '-f', configPath], { cwd: dir });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  const seen = new Set<string>();
  // Round robin over the servers that passed their checks: a few requests show every replica once all are up.
  while (seen.size < backends.length) {
    if (proc.exited()) {
      throw new Error(`haproxy exited (${proc.exitDescription()})\n${proc.output()}`);
    }
    const served = await servedBy(`${url}/health`);
    if (served) {
      seen.add(served);
    }
    if (Date.now() > deadline) {
      await proc.stop(2000);
      throw new Error(`haproxy did not route to every replica (saw ${[...seen].join(', ')})\n${proc.output()}`);
    }
    await sleep(50);
  }
  return { url, configPath, output: proc.output, stop: () => proc.stop(5000) };
}

async function servedBy(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url);
    await res.text();
    return res.status === 200 ? (res.headers.get(SERVED_BY) ?? undefined) : undefined;
  } catch {
    return undefined;
  }
}
