// The other real CrowdSec clients, run with private configs against a LAPI under test:
// - crowdsec-custom-bouncer 0.0.15 (Debian), calling a script that logs what it is given;
// - crowdsec-firewall-bouncer 0.0.25 (Debian) in nftables set-only mode on a private table;
// - the crowdsec 1.4.6 agent replaying an sshd log offline (`-dsn file://… -type syslog`).
// None of them reads /etc/crowdsec (each gets `-c <private config>`); they share no state.
//
// Minimal configs, from the 0.0.15/0.0.25 sources (config.go, go-cs-bouncer StreamBouncer):
// - both bouncers need `log_mode` (`stdout` here) and `api_url` + `api_key`; `update_frequency`
//   is a Go duration (1s here: the first call is `startup=true`, then a delta every second);
//   `daemonize: false` (otherwise they try sd_notify and install their own SIGTERM handler);
//   `prometheus.enabled: false` (else they listen on 6060x);
// - custom: `bin_path` must exist; it is run as `bin add|del <value> <int seconds> <scenario>
//   <decision JSON>`; `cache_retention_duration` (default 10s) is how long it remembers having
//   sent add/del for a value+type;
// - firewall: `mode: nftables`; `nftables.ipv4|ipv6.set-only: true` makes it look up an
//   *existing* table by name (any family) and use the sets named `blacklists_ipv4`/`_ipv6` in it
//   (ipv4: created if missing; ipv6: must exist), adding no chain or rule: it filters nothing.
//   It adds `value` (ranges cut to their network address) with `duration` as timeout, for
//   decisions whose type is in `supported_decisions_types` (default ban). Without `daemonize`
//   SIGTERM kills it without flushing the sets; stop() deletes the table anyway.
// - agent: see replayAgentLog below.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { writeCscliCredentials } from './cscli';
import {
  type BackgroundProcess,
  CROWDSEC_MISSING_MESSAGE,
  crowdsecPath,
  findExecutable,
  sleep,
  startBackground,
} from './reference';
import { type ProcessResult, describeResult, runProcess } from './server';

const q = (s: string) => JSON.stringify(s);

/** Polls `probe` every `intervalMs` until it returns a value other than undefined; throws `describe()` on timeout. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; describe?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${opts.describe ? `\n${opts.describe()}` : ''}`);
    }
    await sleep(opts.intervalMs ?? 250);
  }
}

function missingPackage(bin: string, pkg: string): Error {
  return new Error(
    `${bin} is not installed, so this end-to-end test cannot run.\n` +
      `Install it offline (as root; .ci/run does this):\n` +
      `  mkdir -p /etc/crowdsec/bouncers && printf '# no registration\\n' > /etc/crowdsec/bouncers/${pkg}.yaml.local\n` +
      `  apt-get install -y --no-install-recommends ${pkg}${pkg === 'crowdsec-firewall-bouncer' ? ' nftables' : ''}`,
  );
}

// ---------------------------------------------------------------------------------------
// Custom bouncer

export interface CustomBouncerCall {
  action: string;
  value: string;
  seconds: number;
  scenario: string;
  /** The decision JSON (5th argument). */
  decision: Record<string, unknown>;
  raw: string;
}

export interface RunningCustomBouncer {
  /** Every call of the script so far, in order. */
  calls(): CustomBouncerCall[];
  /** Waits for a call matching `pred` (default timeout 15 s). */
  waitForCall(what: string, pred: (c: CustomBouncerCall) => boolean, timeoutMs?: number): Promise<CustomBouncerCall>;
  output(): string;
  stop(): Promise<void>;
}

export interface CustomBouncerOptions {
  dir: string;
  apiUrl: string;
  /** An API key, or a client certificate (PEM files) for a LAPI on HTTPS. */
  apiKey?: string;
  tls?: { certPath: string; keyPath: string; caCertPath: string };
  updateFrequency?: string;
}

export function startCustomBouncer(opts: CustomBouncerOptions): RunningCustomBouncer {
  const bin = findExecutable('crowdsec-custom-bouncer', process.env.CROWDSEC_CUSTOM_BOUNCER_BIN);
  if (!bin) {
    throw missingPackage('crowdsec-custom-bouncer', 'crowdsec-custom-bouncer');
  }
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const logPath = join(dir, 'calls.log');
  const script = join(dir, 'record.sh');
  writeFileSync(logPath, '');
  // One line per call; arguments joined by tabs (none of them contains a tab or a newline).
  writeFileSync(
    script,
    `#!/bin/sh\nprintf '%s\\t%s\\t%s\\t%s\\t%s\\n' "$1" "$2" "$3" "$4" "$5" >> ${shellQuote(logPath)}\n`,
    { mode: 0o755 },
  );
  const configPath = join(dir, 'crowdsec-custom-bouncer.yaml');
  writeFileSync(
    configPath,
    [
      `bin_path: ${q(script)}`,
      'feed_via_stdin: false',
      'total_retries: 0',
      `piddir: ${q(dir)}`,
      `update_frequency: ${opts.updateFrequency ?? '1s'}`,
      'cache_retention_duration: 10s',
      'daemonize: false',
      'log_mode: stdout',
      'log_level: info',
      `api_url: ${q(`${opts.apiUrl}/`)}`,
      ...(opts.apiKey !== undefined ? [`api_key: ${q(opts.apiKey)}`] : []),
      ...(opts.tls
        ? [
            `cert_path: ${q(opts.tls.certPath)}`,
            `key_path: ${q(opts.tls.keyPath)}`,
            `ca_cert_path: ${q(opts.tls.caCertPath)}`,
          ]
        : []),
      'prometheus:',
      '  enabled: false',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const proc = startBackground(bin, ['-c', configPath], { cwd: dir });
  const calls = (): CustomBouncerCall[] =>
    readFileSync(logPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((raw) => {
        const [action, value, seconds, scenario, json] = raw.split('\t');
        let decision: Record<string, unknown> = {};
        try {
          decision = JSON.parse(json) as Record<string, unknown>;
        } catch {
          // left empty: the assertion on it will show `raw`
        }
        return { action, value, seconds: Number(seconds), scenario, decision, raw };
      });
  const describe = () =>
    `--- script calls ---\n${calls()
      .map((c) => c.raw)
      .join('\n')}\n--- crowdsec-custom-bouncer output (${proc.exitDescription()}) ---\n${proc.output().slice(-4000)}`;
  return {
    calls,
    output: proc.output,
    stop: () => proc.stop(5000),
    waitForCall: (what, pred, timeoutMs = 15_000) =>
      waitFor(
        `the custom bouncer's script to be called with ${what}`,
        () => {
          if (proc.exited()) {
            throw new Error(`crowdsec-custom-bouncer exited (${proc.exitDescription()})\n${describe()}`);
          }
          return calls().find(pred);
        },
        { timeoutMs, describe },
      ),
  };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------
// Firewall bouncer (nftables, set-only)

export interface RunningFirewallBouncer {
  readonly table: string;
  /** Elements of the IPv4 and IPv6 sets (`nft -j list set`). */
  elements(): Promise<string[]>;
  /** Waits until `pred(elements)` holds (default timeout 15 s). */
  waitForElements(what: string, pred: (elements: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  output(): string;
  /** Stops the bouncer and deletes the table. */
  stop(): Promise<void>;
}

export interface FirewallBouncerOptions {
  dir: string;
  apiUrl: string;
  apiKey: string;
  updateFrequency?: string;
}

/**
 * Checks that nftables can be used here (root with CAP_NET_ADMIN in a network namespace that
 * allows netlink NETLINK_NETFILTER); returns undefined if so, else why not.
 */
export async function nftablesProblem(): Promise<string | undefined> {
  const nft = findExecutable('nft');
  if (!nft) {
    return 'the `nft` command is missing (Debian package nftables)';
  }
  const probe = `lapi_e2e_probe_${randomBytes(3).toString('hex')}`;
  const add = await runProcess(nft, ['add', 'table', 'inet', probe], { timeoutMs: 10_000 });
  if (add.code !== 0) {
    return (
      `\`nft add table inet ${probe}\` failed (${add.stderr.trim() || `exit ${add.code ?? add.signal}`}). ` +
      'nftables needs root with CAP_NET_ADMIN and a kernel/namespace that accepts netlink NETLINK_NETFILTER ' +
      '(e.g. a container started with --cap-add NET_ADMIN); this sandbox does not allow it.'
    );
  }
  await runProcess(nft, ['delete', 'table', 'inet', probe], { timeoutMs: 10_000 });
  return undefined;
}

export async function startFirewallBouncer(opts: FirewallBouncerOptions): Promise<RunningFirewallBouncer> {
  const bin = findExecutable('crowdsec-firewall-bouncer', process.env.CROWDSEC_FIREWALL_BOUNCER_BIN);
  if (!bin) {
    throw missingPackage('crowdsec-firewall-bouncer', 'crowdsec-firewall-bouncer');
  }
  const problem = await nftablesProblem();
  if (problem) {
    throw new Error(`cannot run the firewall bouncer in nftables mode: ${problem}`);
  }
  const nft = findExecutable('nft')!;
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const table = `lapi_e2e_${randomBytes(4).toString('hex')}`;
  const nftRun = (args: string[]) => execFileSync(nft, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  // An inet table with one set per family; set-only mode finds the table by name and adds
  // nothing else to it, so no traffic is ever filtered.
  nftRun(['add', 'table', 'inet', table]);
  nftRun(['add', 'set', 'inet', table, 'v4', '{ type ipv4_addr; flags timeout; }']);
  nftRun(['add', 'set', 'inet', table, 'v6', '{ type ipv6_addr; flags timeout; }']);
  const deleteTable = async () => {
    await runProcess(nft, ['delete', 'table', 'inet', table], { timeoutMs: 10_000 });
  };

  const configPath = join(dir, 'crowdsec-firewall-bouncer.yaml');
  writeFileSync(
    configPath,
    [
      'mode: nftables',
      `pid_dir: ${q(dir)}`,
      `update_frequency: ${opts.updateFrequency ?? '1s'}`,
      'daemonize: false',
      'log_mode: stdout',
      'log_level: info',
      `api_url: ${q(`${opts.apiUrl}/`)}`,
      `api_key: ${q(opts.apiKey)}`,
      'insecure_skip_verify: false',
      'disable_ipv6: false',
      'deny_action: DROP',
      'deny_log: false',
      'supported_decisions_types:',
      '  - ban',
      'blacklists_ipv4: v4',
      'blacklists_ipv6: v6',
      'nftables:',
      '  ipv4:',
      '    enabled: true',
      '    set-only: true',
      `    table: ${table}`,
      '    chain: unused',
      '  ipv6:',
      '    enabled: true',
      '    set-only: true',
      `    table: ${table}`,
      '    chain: unused6',
      'prometheus:',
      '  enabled: false',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  let proc: BackgroundProcess;
  try {
    proc = startBackground(bin, ['-c', configPath], { cwd: dir });
  } catch (err) {
    await deleteTable();
    throw err;
  }
  const elements = async (): Promise<string[]> => {
    const out: string[] = [];
    for (const set of ['v4', 'v6']) {
      const r = await runProcess(nft, ['-j', 'list', 'set', 'inet', table, set], { timeoutMs: 10_000 });
      if (r.code !== 0) {
        throw new Error(describeResult(`nft -j list set inet ${table} ${set}`, r));
      }
      out.push(...nftSetElements(r.stdout));
    }
    return out;
  };
  const describe = () =>
    `--- crowdsec-firewall-bouncer output (${proc.exitDescription()}) ---\n${proc.output().slice(-4000)}`;
  return {
    table,
    elements,
    output: proc.output,
    stop: async () => {
      try {
        await proc.stop(5000);
      } finally {
        await deleteTable();
      }
    },
    waitForElements: async (what, pred, timeoutMs = 15_000) => {
      let last: string[] = [];
      return waitFor(
        `the nft set of table ${table} to ${what}`,
        async () => {
          if (proc.exited()) {
            throw new Error(`crowdsec-firewall-bouncer exited (${proc.exitDescription()})\n${describe()}`);
          }
          last = await elements();
          return pred(last) ? last : undefined;
        },
        { timeoutMs, describe: () => `last elements: ${JSON.stringify(last)}\n${describe()}` },
      );
    },
  };
}

/** Element values of `nft -j list set …` output (`{"elem":{"val":"1.2.3.4","timeout":…}}` or a bare string). */
export function nftSetElements(json: string): string[] {
  const parsed = JSON.parse(json) as { nftables?: Array<{ set?: { elem?: unknown[] } }> };
  const out: string[] = [];
  for (const item of parsed.nftables ?? []) {
    for (const elem of item.set?.elem ?? []) {
      if (typeof elem === 'string') {
        out.push(elem);
      } else if (elem && typeof elem === 'object' && 'elem' in elem) {
        const val = (elem as { elem: { val?: unknown } }).elem.val;
        if (typeof val === 'string') {
          out.push(val);
        }
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Agent replaying a log

/** Where Debian's crowdsec package ships the hub (parsers, scenarios) and grok patterns. */
export const HUB_DIR = process.env.CROWDSEC_HUB_DIR ?? '/var/lib/crowdsec/hub';
export const PATTERNS_DIR = process.env.CROWDSEC_PATTERNS_DIR ?? '/etc/crowdsec/patterns';

/** Hub files the sshd brute-force replay needs (stage directory → file in the hub). */
const SSH_BF_ITEMS: ReadonlyArray<[string, string]> = [
  ['parsers/s00-raw', 'parsers/s00-raw/crowdsecurity/syslog-logs.yaml'],
  ['parsers/s01-parse', 'parsers/s01-parse/crowdsecurity/sshd-logs.yaml'],
  ['parsers/s02-enrich', 'parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml'],
  ['scenarios', 'scenarios/crowdsecurity/ssh-bf.yaml'],
];

export interface AgentReplayOptions {
  dir: string;
  /** LAPI under test and a validated machine on it. */
  url: string;
  login: string;
  password: string;
  /** Attacker IP written in the log. */
  sourceIp: string;
  /** Failed-password lines, one second apart (default 8; ssh-bf overflows at the 6th). */
  attempts?: number;
  /** User name in every line (one name, so ssh-bf_user-enum, which wants 6 distinct ones, does not fire). */
  user?: string;
}

export interface AgentReplay {
  result: ProcessResult;
  logPath: string;
  /** The agent's output (stdout + stderr). */
  output: string;
}

/**
 * Runs `crowdsec -c CFG -no-api -dsn file://LOG -type syslog` to completion: the agent parses
 * the log "at once", the crowdsecurity/ssh-bf bucket (capacity 5, leakspeed 10s) overflows on
 * the 6th failed password, the agent logs in to the LAPI (its credentials file) and pushes the
 * alert (no decisions: the LAPI's profile adds them), then exits once acquisition is finished.
 *
 * Minimal private config (1.4.6): `config_paths.config_dir` holding `parsers/<stage>/`,
 * `scenarios/` (symlinks into the hub the package ships, so nothing is downloaded) and
 * `patterns` (grok patterns, a symlink to /etc/crowdsec/patterns); `data_dir` (empty: the
 * GeoIP enrichers log errors and are skipped); `hub_dir`/`index_path` (the shipped hub, to
 * name installed scenarios at login); `simulation_path`; `api.client.credentials_path`;
 * `prometheus.enabled: false`. No acquisition file is needed with `-dsn`.
 */
export async function replayAgentLog(opts: AgentReplayOptions): Promise<AgentReplay> {
  const bin = crowdsecPath();
  if (!bin) {
    throw new Error(CROWDSEC_MISSING_MESSAGE);
  }
  for (const [, file] of SSH_BF_ITEMS) {
    if (!existsSync(join(HUB_DIR, file))) {
      throw new Error(
        `${join(HUB_DIR, file)} is missing: the offline hub of Debian's crowdsec package is expected in ${HUB_DIR} ` +
          '(set CROWDSEC_HUB_DIR otherwise)',
      );
    }
  }
  if (!existsSync(PATTERNS_DIR)) {
    throw new Error(`${PATTERNS_DIR} (grok patterns of the crowdsec package) is missing; set CROWDSEC_PATTERNS_DIR`);
  }
  const dir = resolve(opts.dir);
  mkdirSync(join(dir, 'data'), { recursive: true });
  for (const [stageDir, file] of SSH_BF_ITEMS) {
    mkdirSync(join(dir, stageDir), { recursive: true });
    symlinkSync(join(HUB_DIR, file), join(dir, stageDir, file.split('/').pop()!));
  }
  symlinkSync(PATTERNS_DIR, join(dir, 'patterns'));
  writeFileSync(join(dir, 'simulation.yaml'), 'simulation: false\n');
  const credentialsPath = join(dir, 'local_api_credentials.yaml');
  writeCscliCredentials(credentialsPath, { url: opts.url, login: opts.login, password: opts.password });
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
      `  data_dir: ${q(join(dir, 'data'))}`,
      `  hub_dir: ${q(HUB_DIR)}`,
      `  index_path: ${q(join(HUB_DIR, '.index.json'))}`,
      `  simulation_path: ${q(join(dir, 'simulation.yaml'))}`,
      'crowdsec_service:',
      '  parser_routines: 1',
      'api:',
      '  client:',
      '    insecure_skip_verify: false',
      `    credentials_path: ${q(credentialsPath)}`,
      'prometheus:',
      '  enabled: false',
      '',
    ].join('\n'),
  );
  // Syslog lines carry no year or zone: the agent reads them in its local time zone, as written.
  const logPath = join(dir, 'auth.log');
  const attempts = opts.attempts ?? 8;
  const start = Date.now() - (attempts + 30) * 1000;
  const lines: string[] = [];
  for (let i = 0; i < attempts; i++) {
    const stamp = syslogTimestamp(new Date(start + i * 1000));
    lines.push(
      `${stamp} e2e-host sshd[${4000 + i}]: Failed password for ${opts.user ?? 'root'} from ${opts.sourceIp} ` +
        `port ${50000 + i} ssh2`,
    );
  }
  writeFileSync(logPath, `${lines.join('\n')}\n`);
  const args = ['-c', configPath, '-no-api', '-dsn', `file://${logPath}`, '-type', 'syslog'];
  const result = await runProcess(bin, args, { cwd: dir, timeoutMs: 60_000 });
  const output = `${result.stdout}${result.stderr}`;
  if (result.code !== 0) {
    throw new Error(describeResult(`crowdsec ${args.join(' ')}`, result));
  }
  return { result, logPath, output };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Nov  8 21:08:59` (RFC 3164, local time). */
function syslogTimestamp(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getMonth()]} ${String(d.getDate()).padStart(2, ' ')} ${two(d.getHours())}:${two(
    d.getMinutes(),
  )}:${two(d.getSeconds())}`;
}
