// Helpers to drive the real `cscli` (Debian package `crowdsec`, 1.4.6) against a test server
// without touching /etc/crowdsec: every test gets its own config.yaml, credentials file and
// (empty) hub index in a temporary directory.
//
// What cscli 1.4.6 needs (pkg/csconfig, cmd/crowdsec-cli/lapi.go):
// - `config_paths.config_dir` and `config_paths.data_dir` (data_dir is mandatory; it does not
//   have to exist for the `lapi` commands);
// - `api.client.credentials_path`: every `cscli lapi …` command first loads this file and
//   fails unless it exists and has a `url:` — even `lapi register`, which then overwrites it
//   with `url`/`login`/`password` (yaml, unknown keys rejected);
// - `lapi status` reads the hub index (`config_paths.index_path`) to list installed scenarios
//   and fails if it is missing or has no `scenarios` key; `{"scenarios":{}}` is enough and makes
//   it log in with no scenarios. Nothing is fetched from the network.
// cscli logs (including "You can successfully interact with Local API (LAPI)") go to stderr.
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { type ProcessResult, runProcess } from './server';

export interface CscliCredentials {
  url: string;
  login?: string;
  password?: string;
}

export interface CscliHome {
  dir: string;
  configPath: string;
  credentialsPath: string;
}

/** Path of the cscli binary: $CSCLI_BIN, else the first `cscli` on PATH (or /usr/bin/cscli). */
export function cscliPath(): string | undefined {
  const candidates: string[] = [];
  if (process.env.CSCLI_BIN) {
    candidates.push(process.env.CSCLI_BIN);
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir) {
      candidates.push(join(dir, 'cscli'));
    }
  }
  candidates.push('/usr/bin/cscli', '/usr/local/bin/cscli');
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

export function cscliAvailable(): boolean {
  return cscliPath() !== undefined;
}

/** Message for tests that need cscli when it is missing. */
export const CSCLI_MISSING_MESSAGE =
  'cscli (CrowdSec 1.4.6, Debian package `crowdsec`) is not installed, so the cscli end-to-end test cannot run.\n' +
  'Install it offline without registering to the Central API (as root):\n' +
  "  mkdir -p /etc/crowdsec && echo '# no CAPI' > /etc/crowdsec/online_api_credentials.yaml\n" +
  '  apt-get install -y --no-install-recommends crowdsec\n' +
  '(.ci/run does this), or set CSCLI_BIN to a cscli 1.4.6 binary.';

/** Writes a cscli credentials file (url/login/password yaml). */
export function writeCscliCredentials(path: string, creds: CscliCredentials): void {
  const lines = [`url: ${yamlString(creds.url)}`];
  if (creds.login !== undefined) {
    lines.push(`login: ${yamlString(creds.login)}`);
  }
  if (creds.password !== undefined) {
    lines.push(`password: ${yamlString(creds.password)}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
}

/**
 * Creates a private cscli home in `dir`: config.yaml, an empty hub index, and a credentials
 * file. Pass `credentialsPath` to use an existing credentials file (e.g. one written by
 * `lapi machines add --auto -f FILE`) instead of writing `local_api_credentials.yaml`.
 */
export function makeCscliHome(
  dir: string,
  opts: Partial<CscliCredentials> & { credentialsPath?: string } = {},
): CscliHome {
  const home = resolve(dir);
  const hubDir = join(home, 'hub');
  mkdirSync(hubDir, { recursive: true });
  mkdirSync(join(home, 'data'), { recursive: true });
  writeFileSync(join(hubDir, '.index.json'), '{"scenarios":{}}\n');
  const credentialsPath = opts.credentialsPath
    ? resolve(opts.credentialsPath)
    : join(home, 'local_api_credentials.yaml');
  if (!opts.credentialsPath) {
    if (!opts.url) {
      throw new Error('makeCscliHome: `url` is required unless `credentialsPath` is given');
    }
    writeCscliCredentials(credentialsPath, { url: opts.url, login: opts.login, password: opts.password });
  }
  const configPath = join(home, 'config.yaml');
  const config = [
    'common:',
    '  daemonize: false',
    '  log_media: stdout',
    '  log_level: info',
    'config_paths:',
    `  config_dir: ${yamlString(home)}`,
    `  data_dir: ${yamlString(join(home, 'data'))}`,
    `  hub_dir: ${yamlString(hubDir)}`,
    `  index_path: ${yamlString(join(hubDir, '.index.json'))}`,
    'cscli:',
    '  output: human',
    '  color: "no"',
    'api:',
    '  client:',
    '    insecure_skip_verify: false',
    `    credentials_path: ${yamlString(credentialsPath)}`,
    '',
  ].join('\n');
  writeFileSync(configPath, config);
  return { dir: home, configPath, credentialsPath };
}

export interface CscliResult extends ProcessResult {
  /** stdout + stderr (cscli logs to stderr). */
  output: string;
}

/** Runs `cscli -c <configPath> <args...>`; never reads stdin; killed after `timeoutMs` (30 s). */
export async function runCscli(
  configPath: string,
  args: readonly string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<CscliResult> {
  const bin = cscliPath();
  if (!bin) {
    throw new Error(CSCLI_MISSING_MESSAGE);
  }
  const r = await runProcess(bin, ['-c', configPath, ...args], {
    env: { ...process.env, ...opts.env },
    timeoutMs: opts.timeoutMs ?? 30_000,
  });
  return { ...r, output: `${r.stdout}${r.stderr}` };
}

/** JSON string literals are valid YAML scalars and need no further escaping. */
function yamlString(value: string): string {
  return JSON.stringify(value);
}
