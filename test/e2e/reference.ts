// The reference LAPI: Debian's `crowdsec` 1.4.6 binary run as a Local API only
// (`crowdsec -c CFG -no-cs -no-capi`), with a private config, a private SQLite database and a
// free loopback port, so the e2e suites can be checked against what the real thing answers
// (E2E_TARGET=reference). Nothing under /etc/crowdsec or /var/lib/crowdsec is read or written.
//
// Minimal config found for 1.4.6 (pkg/csconfig):
// - `config_paths.config_dir`/`data_dir` are mandatory; `hub_dir`/`index_path` are only read by
//   cscli commands that list hub items (a `{"scenarios":{}}` index is enough);
// - `db_config` (sqlite, `use_wal` so cscli can write while the LAPI runs);
// - `api.server.listen_uri`, `profiles_path` (the Debian default profile, written here),
//   `trusted_ips` (127.0.0.1 and ::1, so `cscli alerts delete` is allowed); no `online_client`
//   and `-no-capi`, so nothing tries to reach the Central API;
// - `api.client.credentials_path` must name a file with a `url:` for `cscli` to start;
// - `prometheus.enabled: false`, so no second port is needed.
// Machines and bouncers are created the reference way: `cscli -c CFG machines add / bouncers
// add` write straight into the SQLite database.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { type CscliResult, runCscli, writeCscliCredentials } from './cscli';
import { type RunningServer, freePort, httpGet } from './server';

/** Debian 1.4.6's /etc/crowdsec/profiles.yaml (without its comments). */
export const DEFAULT_PROFILES_YAML = [
  'name: default_ip_remediation',
  'filters:',
  ' - Alert.Remediation == true && Alert.GetScope() == "Ip"',
  'decisions:',
  ' - type: ban',
  '   duration: 4h',
  'on_success: break',
  '',
].join('\n');

/** Path of the crowdsec binary: $CROWDSEC_BIN, else the first `crowdsec` on PATH (or /usr/bin). */
export function crowdsecPath(): string | undefined {
  return findExecutable('crowdsec', process.env.CROWDSEC_BIN);
}

export const CROWDSEC_MISSING_MESSAGE =
  'crowdsec (CrowdSec 1.4.6, Debian package `crowdsec`) is not installed, so this end-to-end test cannot run.\n' +
  'Install it offline (as root, see .ci/run):\n' +
  "  mkdir -p /etc/crowdsec && echo '# no CAPI' > /etc/crowdsec/online_api_credentials.yaml\n" +
  '  apt-get install -y --no-install-recommends crowdsec\n' +
  'or set CROWDSEC_BIN to a crowdsec 1.4.6 binary.';

/** First executable among `explicit`, `name` on PATH, /usr/bin/name, /usr/local/bin/name. */
export function findExecutable(name: string, explicit?: string): string | undefined {
  const candidates: string[] = [];
  if (explicit) {
    candidates.push(explicit);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir) {
      candidates.push(join(dir, name));
    }
  }
  candidates.push(`/usr/bin/${name}`, `/usr/local/bin/${name}`, `/usr/sbin/${name}`);
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

export interface ReferenceLapi extends RunningServer {
  /** The private directory holding config.yaml, the SQLite database and the profiles. */
  readonly dir: string;
  readonly configPath: string;
  /** `cscli -c <the LAPI's config.yaml> …`: direct-database commands (machines, bouncers). */
  cscli(args: readonly string[]): Promise<CscliResult>;
}

export interface StartReferenceOptions {
  /** Private directory (created if missing). */
  dir: string;
  /** profiles.yaml content (default: Debian's default profile). */
  profiles?: string;
  /** How long to wait for GET /health → 200 (default 30 s). */
  startTimeoutMs?: number;
  /** Mirror the LAPI's output to stderr (or LAPI_TEST_SERVER_LOGS=1). */
  echoOutput?: boolean;
  /** Extra environment, e.g. `CS_LAPI_SECRET` to sign tokens the test makes itself. */
  env?: Record<string, string>;
  /**
   * Serve HTTPS (`api.server.tls`), verifying client certificates if given (VerifyClientCertIfGiven) against
   * `caCertFile`, agents with OU `agent-ou` and bouncers with `bouncer-ou` (the packaging's defaults).
   */
  tls?: { certFile: string; keyFile: string; caCertFile: string };
  /** Keep the data in this PostgreSQL database (a URL without password, as createScratchDatabase's) instead of SQLite. */
  postgresUrl?: string;
}

/** Starts `crowdsec -no-cs -no-capi` on a free port and waits until GET /health answers 200. */
export async function startReferenceLapi(options: StartReferenceOptions): Promise<ReferenceLapi> {
  const bin = crowdsecPath();
  if (!bin) {
    throw new Error(CROWDSEC_MISSING_MESSAGE);
  }
  const dir = resolve(options.dir);
  const dataDir = join(dir, 'data');
  const hubDir = join(dir, 'hub');
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(hubDir, { recursive: true });
  writeFileSync(join(hubDir, '.index.json'), '{"scenarios":{}}\n');
  writeFileSync(join(dir, 'profiles.yaml'), options.profiles ?? DEFAULT_PROFILES_YAML);
  writeFileSync(join(dir, 'simulation.yaml'), 'simulation: false\n');
  const port = await freePort();
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  // cscli refuses to start without a credentials file that has a url.
  const credentialsPath = join(dir, 'local_api_credentials.yaml');
  writeCscliCredentials(credentialsPath, { url });
  const q = (s: string) => JSON.stringify(s);
  const configPath = join(dir, 'config.yaml');
  writeFileSync(
    configPath,
    [
      'common:',
      '  daemonize: false',
      '  log_media: stdout',
      '  log_level: info',
      'config_paths:',
      `  config_dir: ${q(dir)}`,
      `  data_dir: ${q(dataDir)}`,
      `  hub_dir: ${q(hubDir)}`,
      `  index_path: ${q(join(hubDir, '.index.json'))}`,
      `  simulation_path: ${q(join(dir, 'simulation.yaml'))}`,
      'cscli:',
      '  output: human',
      '  color: "no"',
      'db_config:',
      ...(options.postgresUrl ? postgresDbConfig(options.postgresUrl) : sqliteDbConfig(join(dataDir, 'crowdsec.db'))),
      '  log_level: warning',
      'api:',
      '  client:',
      '    insecure_skip_verify: false',
      `    credentials_path: ${q(credentialsPath)}`,
      '  server:',
      '    log_level: info',
      `    listen_uri: 127.0.0.1:${port}`,
      `    profiles_path: ${q(join(dir, 'profiles.yaml'))}`,
      '    trusted_ips:',
      '      - 127.0.0.1',
      '      - ::1',
      ...(options.tls
        ? [
            '    tls:',
            `      cert_file: ${q(options.tls.certFile)}`,
            `      key_file: ${q(options.tls.keyFile)}`,
            `      ca_cert_path: ${q(options.tls.caCertFile)}`,
            '      client_verification: VerifyClientCertIfGiven',
            '      agents_allowed_ou:',
            '        - agent-ou',
            '      bouncers_allowed_ou:',
            '        - bouncer-ou',
          ]
        : []),
      'prometheus:',
      '  enabled: false',
      '',
    ].join('\n'),
  );

  const args = ['-c', configPath, '-no-cs', '-no-capi'];
  const proc = startBackground(bin, args, {
    cwd: dir,
    echo: options.echoOutput,
    env: { ...process.env, ...options.env },
  });
  const describeFailure = (why: string) =>
    new Error(`${why}\n  command: ${bin} ${args.join(' ')}\n--- output ---\n${proc.output() || '(none)'}\n--- end ---`);

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  let last = 'no answer';
  for (;;) {
    if (proc.exited()) {
      throw describeFailure(`reference LAPI exited (${proc.exitDescription()}) before GET /health answered 200`);
    }
    const res = await httpGet(`${url}/health`);
    if (res?.status === 200) {
      break;
    }
    if (res) {
      last = `HTTP ${res.status} ${res.body.slice(0, 200)}`;
    }
    if (Date.now() > deadline) {
      await proc.stop(2000);
      throw describeFailure(`reference LAPI did not answer GET /health with 200 in time (last: ${last})`);
    }
    await sleep(200);
  }

  return {
    url,
    port,
    pid: proc.pid,
    dir,
    configPath,
    output: proc.output,
    stop: proc.stop,
    cscli: (cscliArgs) => runCscli(configPath, cscliArgs),
  };
}

const sqliteDbConfig = (path: string) => ['  type: sqlite', `  db_path: ${JSON.stringify(path)}`, '  use_wal: true'];

/** 1.4.6's PostgreSQL settings (pkg/csconfig/database.go): host, port, user, password, db_name, sslmode. */
function postgresDbConfig(url: string): string[] {
  const u = new URL(url);
  return [
    '  type: postgresql',
    `  host: ${JSON.stringify(u.hostname)}`,
    `  port: ${u.port || '5432'}`,
    `  user: ${JSON.stringify(decodeURIComponent(u.username))}`,
    // 1.4.6 joins these into a key=value DSN: an empty password would swallow the next setting (sslmode), so a
    // trust-auth server is given a password it ignores.
    `  password: ${JSON.stringify(decodeURIComponent(u.password) || 'ignored-by-trust-auth')}`,
    `  db_name: ${JSON.stringify(u.pathname.slice(1))}`,
    '  sslmode: disable',
  ];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A long-running child process whose output is kept (last 256 KiB). */
export interface BackgroundProcess {
  readonly pid: number;
  output(): string;
  exited(): boolean;
  exitDescription(): string;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s); resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export function startBackground(
  command: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; echo?: boolean } = {},
): BackgroundProcess {
  const echo = opts.echo ?? process.env.LAPI_TEST_SERVER_LOGS === '1';
  let text = '';
  const push = (chunk: Buffer) => {
    text += chunk.toString();
    if (text.length > 256 * 1024) {
      text = text.slice(-256 * 1024);
    }
    if (echo) {
      process.stderr.write(chunk);
    }
  };
  const child: ChildProcess = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', push);
  child.stderr?.on('data', push);
  let exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  const exitPromise = new Promise<void>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolveExit();
    });
    child.once('error', (error) => {
      exit ??= { code: null, signal: null, error };
      resolveExit();
    });
  });
  return {
    pid: child.pid ?? -1,
    output: () => text,
    exited: () => exit !== undefined,
    exitDescription: () => {
      if (!exit) {
        return 'running';
      }
      if (exit.error) {
        return `could not be spawned: ${exit.error.message}`;
      }
      return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
    },
    stop: async (graceMs = 10_000) => {
      if (exit) {
        return;
      }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exitPromise;
      clearTimeout(timer);
    },
  };
}
