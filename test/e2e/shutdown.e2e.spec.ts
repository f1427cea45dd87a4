// Graceful shutdown of the built processes, as Kubernetes stops them (SIGTERM after the preStop sleep, SIGKILL at the
// end of the grace period): the API stops accepting connections, finishes the request in flight, and exits 0; the
// worker closes its queues and exits 0. The bounds are the processes' own (apps/*/src/main.ts SHUTDOWN_GRACE_MS)
// that deploy/k8s's terminationGracePeriodSeconds are above.
import { createScratchDatabase, startPrivateRedis } from '@lapi/testing';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, postgresEnv, REPO_ROOT, startServer, type RunningServer } from './server';

const API_GRACE_MS = 25_000;
const WORKER_GRACE_MS = 50_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the exit code once process `pid` is gone (polling: it is not our child in every case). */
async function exitOf(pid: number, withinMs: number): Promise<number> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return Date.now();
    }
    await sleep(50);
  }
  throw new Error(`process ${pid} still running ${withinMs} ms after SIGTERM`);
}

/** Whether a new TCP connection to the port is refused. */
const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });

describe('graceful shutdown on SIGTERM (built processes, PostgreSQL + Redis)', () => {
  let db: Awaited<ReturnType<typeof createScratchDatabase>>;
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let dir: string;
  let api: RunningServer | undefined;

  beforeAll(async () => {
    db = await createScratchDatabase('lapi_test_shutdown');
    redis = await startPrivateRedis();
    dir = mkdtempSync(join(tmpdir(), 'lapi-shutdown-'));
  });
  afterAll(async () => {
    await api?.stop(2_000);
    await redis.stop();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const env = () => ({ ...postgresEnv(db.url, dir), REDIS_URL: redis.url, LAPI_LOG_FORMAT: 'json' });

  it('API: refuses new connections, answers the request in flight, exits 0 within its bound', async () => {
    api = await startServer({ env: env() });
    const server = api;
    // A login whose body is still arriving when SIGTERM comes (a slow client).
    const body = JSON.stringify({ machine_id: 'nobody', password: 'not-a-password', scenarios: [] });
    const socket: Socket = connect(server.port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(
      `POST /v1/watchers/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
    );
    await sleep(300);

    const signalled = Date.now();
    process.kill(server.pid, 'SIGTERM');
    // No new connection once it is shutting down.
    let refusedAt: number | undefined;
    for (let i = 0; i < 100 && refusedAt === undefined; i++) {
      if (await refused(server.port)) {
        refusedAt = Date.now();
      } else {
        await sleep(50);
      }
    }
    expect(refusedAt).toBeDefined();
    expect(answer).toBe(''); // still waiting for its body

    // The request in flight completes and gets its answer (unknown machine: the reference's 401 / 403); then the
    // server closes the keep-alive connection itself rather than wait for the client to drop it.
    socket.write(body.slice(10));
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 (401|403) /);
    expect(answer).toMatch(/"message":/);

    const exitedAt = await exitOf(server.pid, API_GRACE_MS + 5_000);
    expect(exitedAt - signalled).toBeLessThan(API_GRACE_MS);
    expect(server.output()).toMatch(/SIGTERM received, shutting down/);
    expect(server.output()).not.toMatch(/did not finish in time/);
    api = undefined;
  });

  it('worker: closes its queues and exits 0 within its bound', async () => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'apps', 'worker', 'src', 'main.js')], {
      cwd: REPO_ROOT,
      env: childEnv({ ...env(), CS_LAPI_SECRET: undefined }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      for (let i = 0; i < 600 && !output.includes('worker started'); i++) {
        await sleep(100);
      }
      expect(output).toContain('worker started');
      await sleep(1_000); // its queues' workers are consuming by now

      const signalled = Date.now();
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exit,
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), WORKER_GRACE_MS + 5_000))),
      ]);
      clearTimeout(timer);
      expect(code).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(WORKER_GRACE_MS);
      expect(output).toMatch(/SIGTERM received, shutting down/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
