// Helpers for end-to-end tests: run the real built server (dist/) and the admin CLI (bin/lapi.js)
// as child processes. Run `npm run build` first (test/run-tests.js does).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const SERVER_ENTRY = join(REPO_ROOT, 'dist', 'apps', 'api', 'src', 'main.js');
export const CLI_ENTRY = join(REPO_ROOT, 'bin', 'lapi.js');

/**
 * Variables that select or configure the server. They are removed from the inherited
 * environment so that, e.g., a DATABASE_URL set for the test runner cannot turn an
 * embedded-mode test into a Postgres-mode one.
 */
const SERVER_VARIABLES = [
  'DATABASE_URL',
  'REDIS_URL',
  'CS_LAPI_SECRET',
  'LAPI_LISTEN_URI',
  'LAPI_DATA_DIR',
  'LAPI_TRUSTED_IPS',
  'LAPI_PROFILES_PATH',
  'LAPI_LOG_LEVEL',
  'LAPI_LOG_FORMAT',
  'LAPI_DISABLE_REMOTE_REGISTRATION',
  'LAPI_REDIS_PREFIX',
  'LAPI_METRICS_LISTEN_URI',
  'LAPI_USE_FORWARDED_FOR_HEADERS',
  'LAPI_TRUSTED_PROXIES',
  'LAPI_WORKER_METRICS_PORT',
];

export type Env = Record<string, string | undefined>;

/**
 * Environment for a child: the test process's env minus server settings, plus `env`. Metrics are off unless `env`
 * sets LAPI_METRICS_LISTEN_URI: servers started side by side would race for its default address.
 */
export function childEnv(env: Env): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env };
  for (const key of SERVER_VARIABLES) {
    delete out[key];
  }
  for (const [key, value] of Object.entries({ LAPI_METRICS_LISTEN_URI: '', ...env })) {
    if (value === undefined) {
      delete out[key];
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** A JWT secret that satisfies the ≥ 64 bytes rule. */
export function randomSecret(): string {
  return randomBytes(48).toString('hex'); // 96 chars
}

/** Env for embedded (PGlite) mode. */
export function embeddedEnv(dataDir: string): Env {
  return { LAPI_DATA_DIR: dataDir };
}

/** Env for Postgres mode; `dataDir` keeps any local files out of the checkout. */
export function postgresEnv(databaseUrl: string, dataDir: string, secret = randomSecret()): Env {
  return { DATABASE_URL: databaseUrl, CS_LAPI_SECRET: secret, LAPI_DATA_DIR: dataDir };
}

/** Asks the OS for a free TCP port on 127.0.0.1 (racy, but good enough for tests). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => (port ? resolvePort(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** GET url → { status, body }, or undefined on connection error/timeout. */
export function httpGet(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 2000,
): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolveGet) => {
    // An https URL is a server under test with a test CA: the probe does not check its certificate.
    const send = url.startsWith('https:') ? httpsRequest : request;
    const req = send(url, { method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolveGet(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveGet(undefined));
    req.end();
  });
}

/** Keeps the last `max` characters of a stream's output. */
class OutputTail {
  private text = '';
  constructor(private readonly max = 256 * 1024) {}
  push(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > this.max) {
      this.text = this.text.slice(-this.max);
    }
  }
  toString(): string {
    return this.text;
  }
}

export interface StartServerOptions {
  /** Mode settings, e.g. embeddedEnv(dir) or postgresEnv(url, dir). LAPI_LISTEN_URI is set here. */
  env: Env;
  /** How long to wait for GET /health → 200 (default 60 s). */
  startTimeoutMs?: number;
  /** Entry point to run with node (default dist/apps/api/src/main.js). */
  entry?: string;
  /** Mirror the server's output to this process's stderr (or set LAPI_TEST_SERVER_LOGS=1). */
  echoOutput?: boolean;
  /** The env turns HTTPS on (LAPI_TLS_*): the URL is https://. */
  https?: boolean;
}

export interface RunningServer {
  /** Base URL without trailing slash, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Everything the server printed so far (stdout and stderr interleaved). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s). Resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** Starts the built server on a free port and waits until GET /health answers 200. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const entry = options.entry ?? SERVER_ENTRY;
  if (!existsSync(entry)) {
    throw new Error(`server entry point ${entry} not found: run \`npm run build\` first (npm test does it)`);
  }
  const port = await freePort();
  const url = `${options.https ? 'https' : 'http'}://127.0.0.1:${port}`;
  const echo = options.echoOutput ?? process.env.LAPI_TEST_SERVER_LOGS === '1';
  const output = new OutputTail();
  const child = spawn(process.execPath, [entry], {
    cwd: REPO_ROOT,
    env: childEnv({ ...options.env, LAPI_LISTEN_URI: `127.0.0.1:${port}` }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const onData = (chunk: Buffer) => {
    output.push(chunk);
    if (echo) {
      process.stderr.write(chunk);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let spawnError: Error | undefined;
  const exitPromise = new Promise<void>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolveExit();
    });
    child.once('error', (err) => {
      spawnError = err;
      exited ??= { code: null, signal: null };
      resolveExit();
    });
  });

  const stop = async (graceMs = 10_000): Promise<void> => {
    if (exited) {
      return;
    }
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exitPromise;
    clearTimeout(timer);
  };

  const describeFailure = (why: string) =>
    new Error(
      `${why}\n` +
        `  command: ${process.execPath} ${entry} (cwd ${REPO_ROOT}), LAPI_LISTEN_URI=127.0.0.1:${port}\n` +
        `  mode env: ${JSON.stringify(redactEnv(options.env))}\n` +
        `--- server output ---\n${output.toString() || '(none)'}\n--- end of server output ---`,
    );

  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  let last = 'no answer';
  for (;;) {
    if (exited) {
      const how = spawnError
        ? `could not be spawned: ${spawnError.message}`
        : `exited with ${exited.signal ? `signal ${exited.signal}` : `code ${exited.code}`}`;
      throw describeFailure(`server ${how} before GET /health answered 200`);
    }
    const res = await httpGet(`${url}/health`);
    if (res?.status === 200) {
      break;
    }
    if (res) {
      last = `HTTP ${res.status} ${res.body.slice(0, 200)}`;
    }
    if (Date.now() > deadline) {
      await stop(2000);
      throw describeFailure(`server did not answer GET /health with 200 in time (last: ${last})`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }

  return { url, port, pid: child.pid ?? -1, output: () => output.toString(), stop };
}

function redactEnv(env: Env): Env {
  const out: Env = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) {
      continue;
    }
    if (/SECRET|PASSWORD/i.test(k)) {
      out[k] = '***';
    } else if (/_URL$/.test(k)) {
      out[k] = v.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
    } else {
      out[k] = v;
    }
  }
  return out;
}

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, capturing output; kills it after `timeoutMs`. */
export function runProcess(
  command: string,
  args: readonly string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<ProcessResult> {
  return new Promise((resolveRun, reject) => {
    let child: ChildProcess;
    try {
      child = spawn(command, args, {
        cwd: opts.cwd ?? REPO_ROOT,
        env: opts.env ?? process.env,
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      });
    } catch (err) {
      reject(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    if (opts.input !== undefined) {
      child.stdin?.end(opts.input);
    }
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${command}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        stderr += `\n[killed after ${timeoutMs} ms timeout]`;
      }
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

/** Runs the admin CLI `node bin/lapi.js <args>` with the same mode env as the server. */
export function runLapi(
  args: readonly string[],
  env: Env,
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<ProcessResult> {
  return runProcess(process.execPath, [CLI_ENTRY, ...args], {
    env: childEnv(env),
    timeoutMs: opts.timeoutMs,
    input: opts.input,
  });
}

/** Formats a process result for assertion messages. */
export function describeResult(what: string, r: ProcessResult): string {
  return `${what} → exit ${r.code ?? r.signal}\n--- stdout ---\n${r.stdout}\n--- stderr ---\n${r.stderr}`;
}
