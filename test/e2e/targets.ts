// Which LAPI an e2e suite runs against, chosen with E2E_TARGET (comma-separated):
//   embedded   our built server, embedded database (PGlite)          ┐ default
//   postgres   our built server on a scratch PostgreSQL database     ┘ (also: E2E_TARGET=ours)
//   reference  Debian's crowdsec 1.4.6 LAPI (see reference.ts), to check the suites' expectations
// e.g. `E2E_TARGET=reference node test/run-tests.js --selectProjects e2e test/e2e/alerts-decisions`.
//
// Every target offers the same admin operations, each done the target's own way: our `lapi` CLI
// (`machines add NAME --password P`, `bouncers add NAME -o raw`) or the reference's
// `cscli machines add / bouncers add` on its SQLite database.
import { createScratchDatabase } from '@lapi/testing';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { type CscliResult, makeCscliHome, runCscli } from './cscli';
import { startReferenceLapi } from './reference';
import { type Env, type ProcessResult, describeResult, embeddedEnv, postgresEnv, runLapi, startServer } from './server';

export type TargetName = 'embedded' | 'postgres' | 'reference';

const ALL_TARGETS: readonly TargetName[] = ['embedded', 'postgres', 'reference'];

/** Targets selected by E2E_TARGET (default: our server in both modes). */
export function selectedTargets(): TargetName[] {
  const raw = (process.env.E2E_TARGET ?? '').trim();
  if (!raw) {
    return ['embedded', 'postgres'];
  }
  const out: TargetName[] = [];
  for (const item of raw.split(',').map((s) => s.trim().toLowerCase())) {
    const names: TargetName[] =
      item === 'ours' ? ['embedded', 'postgres'] : item === 'all' ? [...ALL_TARGETS] : [item as TargetName];
    for (const name of names) {
      if (!ALL_TARGETS.includes(name)) {
        throw new Error(`E2E_TARGET: unknown target "${item}" (use embedded, postgres, ours, reference or all)`);
      }
      if (!out.includes(name)) {
        out.push(name);
      }
    }
  }
  return out;
}

export interface LapiTarget {
  readonly name: TargetName;
  /** true for Debian's crowdsec 1.4.6, false for our server. */
  readonly isReference: boolean;
  /** Base URL without trailing slash. */
  readonly url: string;
  /** Adds a validated machine with this password. */
  addMachine(login: string, password: string): Promise<void>;
  /** Adds a bouncer; returns its API key. */
  addBouncer(name: string): Promise<string>;
  /** What the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts a target; `tmp` is a private directory for its files. */
export async function startTarget(name: TargetName, tmp: string): Promise<LapiTarget> {
  switch (name) {
    case 'reference': {
      const ref = await startReferenceLapi({ dir: join(tmp, 'reference-lapi') });
      return {
        name,
        isReference: true,
        url: ref.url,
        output: ref.output,
        stop: () => ref.stop(),
        addMachine: async (login, password) => {
          const args = ['machines', 'add', login, '--password', password, '-f', join(ref.dir, `machine-${login}.yaml`)];
          expectSuccess(`cscli ${args.join(' ')}`, await ref.cscli(args));
        },
        addBouncer: async (bouncer) => {
          const r = await ref.cscli(['bouncers', 'add', bouncer, '-o', 'raw']);
          expectSuccess(`cscli bouncers add ${bouncer} -o raw`, r);
          return onlyKey(r);
        },
      };
    }
    case 'embedded':
    case 'postgres': {
      const db = name === 'postgres' ? await createScratchDatabase('lapi_test_e2e') : undefined;
      const env: Env = db ? postgresEnv(db.url, join(tmp, 'data')) : embeddedEnv(join(tmp, 'data'));
      let server;
      try {
        server = await startServer({ env });
      } catch (err) {
        await db?.drop().catch(() => undefined);
        throw err;
      }
      const running = server;
      return {
        name,
        isReference: false,
        url: running.url,
        output: running.output,
        stop: async () => {
          try {
            await running.stop();
          } finally {
            await db?.drop();
          }
        },
        addMachine: async (login, password) => {
          const args = ['machines', 'add', login, '--password', password];
          expectSuccess(`lapi ${args.join(' ')}`, await runLapi(args, env), running.output());
        },
        addBouncer: async (bouncer) => {
          const r = await runLapi(['bouncers', 'add', bouncer, '-o', 'raw'], env);
          expectSuccess(`lapi bouncers add ${bouncer} -o raw`, r, running.output());
          return onlyKey(r);
        },
      };
    }
  }
}

function expectSuccess(what: string, r: ProcessResult, serverOutput?: string): void {
  if (r.code !== 0) {
    const tail = serverOutput ? `\n--- server output (last 3000 chars) ---\n${serverOutput.slice(-3000)}` : '';
    throw new Error(`${describeResult(what, r)}${tail}`);
  }
}

/** `bouncers add -o raw` prints only the key (cscli may log to stderr). */
function onlyKey(r: ProcessResult): string {
  const lines = r.stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length !== 1 || !/^\S{16,}$/.test(lines[0])) {
    throw new Error(
      `expected exactly one line with the API key on stdout\n${describeResult('bouncers add -o raw', r)}`,
    );
  }
  return lines[0];
}

/** A cscli 1.4.6 client logged in as its own machine on a target. */
export interface CscliClient {
  readonly login: string;
  readonly configPath: string;
  run(args: readonly string[], opts?: { timeoutMs?: number }): Promise<CscliResult>;
  /** Runs and fails with the whole output (and the server's) unless exit code 0. */
  ok(args: readonly string[]): Promise<CscliResult>;
  /** Runs with `-o json` and parses stdout. */
  json<T = unknown>(args: readonly string[]): Promise<T>;
}

/** Creates machine `login` on the target and a private cscli home in `dir` using it. */
export async function newCscliClient(target: LapiTarget, dir: string, login: string): Promise<CscliClient> {
  const password = randomBytes(24).toString('hex');
  await target.addMachine(login, password);
  const home = makeCscliHome(dir, { url: target.url, login, password });
  const describe = (args: readonly string[], r: CscliResult) =>
    `${describeResult(`cscli ${args.join(' ')}`, r)}\n--- ${target.name} LAPI output (last 3000 chars) ---\n${target
      .output()
      .slice(-3000)}`;
  const run = (args: readonly string[], opts: { timeoutMs?: number } = {}) => runCscli(home.configPath, args, opts);
  const ok = async (args: readonly string[]) => {
    const r = await run(args);
    if (r.code !== 0) {
      throw new Error(describe(args, r));
    }
    return r;
  };
  return {
    login,
    configPath: home.configPath,
    run,
    ok,
    json: async <T>(args: readonly string[]) => {
      const full = [...args, '-o', 'json'];
      const r = await ok(full);
      try {
        return JSON.parse(r.stdout) as T;
      } catch (err) {
        throw new Error(`stdout is not JSON (${(err as Error).message})\n${describe(full, r)}`);
      }
    },
  };
}

export interface HttpResult {
  status: number;
  /** Raw body text. */
  text: string;
  /** Parsed body, or undefined if it is not JSON. */
  json: unknown;
  contentType: string | null;
}

/** One HTTP request with fetch; never throws for HTTP errors. */
export async function http(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpResult> {
  const res = await fetch(url, { method: init.method ?? 'GET', headers: init.headers, body: init.body });
  const text = await res.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json, contentType: res.headers.get('content-type') };
}

/** Logs a machine in over HTTP (as the Go clients do: a `crowdsec/…` User-Agent) and returns its JWT. */
export async function machineToken(target: LapiTarget, login: string, password: string): Promise<string> {
  const r = await http(`${target.url}/v1/watchers/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'User-Agent': 'crowdsec/v1.4.6-e2e' },
    body: JSON.stringify({ machine_id: login, password, scenarios: [] }),
  });
  const token = (r.json as { token?: unknown } | undefined)?.token;
  if (r.status !== 200 || typeof token !== 'string') {
    throw new Error(`login of ${login} failed: HTTP ${r.status} ${r.text.slice(0, 500)}`);
  }
  return token;
}

/** A decision as served by GET /v1/decisions and the stream. */
export interface WireDecision {
  id: number;
  duration: string;
  origin: string;
  scenario: string;
  scope: string;
  type: string;
  value: string;
  uuid?: string;
  simulated?: boolean;
}

export interface StreamBody {
  new: WireDecision[] | null;
  deleted: WireDecision[] | null;
}

/** A bouncer (its own key, hence its own stream cursor) talking to a target. */
export interface BouncerClient {
  readonly key: string;
  get(pathAndQuery: string): Promise<HttpResult>;
  /** GET /v1/decisions?query → the list (null → []); fails unless 200 + JSON list or null. */
  decisions(query: string): Promise<WireDecision[]>;
  /** GET /v1/decisions/stream?query → the body; fails unless 200 + the stream object. */
  stream(query?: string): Promise<StreamBody>;
}

export async function newBouncerClient(target: LapiTarget, name: string): Promise<BouncerClient> {
  const key = await target.addBouncer(name);
  const get = (pathAndQuery: string) =>
    http(`${target.url}${pathAndQuery}`, {
      headers: { 'X-Api-Key': key, 'User-Agent': 'e2e-bouncer/v0.0.0' },
    });
  return {
    key,
    get,
    decisions: async (query) => {
      const r = await get(`/v1/decisions?${query}`);
      if (r.status !== 200 || !(r.json === null || Array.isArray(r.json))) {
        throw new Error(`GET /v1/decisions?${query} → HTTP ${r.status} ${r.text.slice(0, 1000)}`);
      }
      return (r.json ?? []) as WireDecision[];
    },
    stream: async (query = '') => {
      const path = `/v1/decisions/stream${query ? `?${query}` : ''}`;
      const r = await get(path);
      const body = r.json as StreamBody | undefined;
      if (r.status !== 200 || !body || typeof body !== 'object' || !('new' in body) || !('deleted' in body)) {
        throw new Error(`GET ${path} → HTTP ${r.status} ${r.text.slice(0, 1000)}`);
      }
      return body;
    },
  };
}

/**
 * Go `time.ParseDuration` for what LAPIs emit ("3h59m59.104489792s", "-6.25147ms", "0s"), in
 * seconds; throws on anything a Go bouncer could not parse either (e.g. "1d").
 */
export function parseGoDuration(text: string): number {
  if (text === '0') {
    return 0;
  }
  const m = /^([+-])?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(text);
  if (!m) {
    throw new Error(`not a Go duration: ${JSON.stringify(text)}`);
  }
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, μs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const part of text.replace(/^[+-]/, '').matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) {
    total += Number(part[1]) * unit[part[2]];
  }
  return m[1] === '-' ? -total : total;
}

/** Short random suffix for names unique within a run. */
export function suffix(): string {
  return randomBytes(3).toString('hex');
}

/**
 * Rows of a cscli table (`+----+` borders, `| a | b |` lines), keyed by the header cells.
 * Works for `decisions list`, `alerts list` and the tables inside `alerts inspect`.
 */
export function parseTable(output: string): Array<Record<string, string>> {
  const rows = output
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('|') && l.endsWith('|'))
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  if (rows.length === 0) {
    return [];
  }
  const [header, ...body] = rows;
  return body.map((cells) => Object.fromEntries(header.map((h, i) => [h, cells[i] ?? ''])));
}

/** An alert as cscli prints it with `-o json` (`decisions list`, `alerts list`). */
export interface CliAlert {
  id: number;
  machine_id?: string;
  scenario: string;
  message?: string;
  capacity?: number;
  leakspeed?: string;
  events_count?: number;
  events?: unknown[] | null;
  simulated?: boolean;
  source: { scope: string; value: string; ip?: string; range?: string };
  decisions?: Array<WireDecision & { simulated?: boolean }> | null;
}

/** The nested decisions of `decisions list -o json`, each with its alert. */
export function flattenDecisions(alerts: CliAlert[] | null): Array<WireDecision & { alert: CliAlert }> {
  return (alerts ?? []).flatMap((a) => (a.decisions ?? []).map((d) => ({ ...d, alert: a })));
}
