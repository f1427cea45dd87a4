import { parseGoDuration } from '../shared/go-duration';
import { NotificationConfigError, TemplateParseError } from './notification.errors';
import { compileGoTemplate, type GoTemplate } from './template';

// A notification config of notification_dir, as the reference's broker decodes it (csplugin.PluginConfig in
// pkg/csplugin/broker.go: type, name, format, group_wait, group_threshold, max_retry, timeout, the rest inline)
// and as its http plugin reads what the broker forwards (cmd/notification-http/main.go). Only the http type is
// delivered by this LAPI.

/** The broker's default per-attempt timeout when `timeout` is unset or 0 (setRequiredFields, UnmarshalYAML). */
export const DEFAULT_NOTIFICATION_TIMEOUT_MS = 5_000;

export interface HttpNotificationConfig {
  readonly type: 'http';
  readonly name: string;
  /** The file (and document) it came from, for messages. */
  readonly source: string;
  /** hclog level of the plugin (`trace` … `off`); unknown values are kept, hclog ignores them. */
  readonly logLevel?: string;
  /** `format`, compiled once; absent `format` is the empty template (an empty body), as in the reference. */
  readonly format: GoTemplate;
  readonly url: string;
  /** As written (Go sends it as is); empty means GET, as Go's http.NewRequest reads "". */
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly skipTlsVerification: boolean;
  /** ≥ 1.5 http plugin: send the request over this unix socket instead of connecting to the URL's host. */
  readonly unixSocket?: string;
  /** ≥ 1.6 http plugin: client certificate, key and extra CA, as file paths. */
  readonly certPath?: string;
  readonly keyPath?: string;
  readonly caCertPath?: string;
  /** 0 when unset. */
  readonly groupWaitMs: number;
  /** 0 when unset. */
  readonly groupThreshold: number;
  /** 0 when unset: see retry.ts for what that means. */
  readonly maxRetry: number;
  /** Per attempt; {@link DEFAULT_NOTIFICATION_TIMEOUT_MS} when unset or 0. */
  readonly timeoutMs: number;
  /** Keys neither the broker nor the http plugin reads: the reference ignores them silently; worth a warning. */
  readonly ignoredKeys: readonly string[];
}

const BROKER_KEYS = ['type', 'name', 'format', 'group_wait', 'group_threshold', 'max_retry', 'timeout'];
const HTTP_KEYS = [
  'log_level',
  'url',
  'unix_socket',
  'headers',
  'skip_tls_verification',
  'method',
  'cert_path',
  'key_path',
  'ca_cert_path',
];
const KNOWN_KEYS = new Set([...BROKER_KEYS, ...HTTP_KEYS]);

/** Go's http token characters: what http.NewRequest accepts as a method. */
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export type EnvLookup = (name: string) => string | undefined;

type Fail = (key: string, problem: string) => NotificationConfigError;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The `type` and `name` of an already YAML-parsed document, before any other validation (the reference skips the
 * documents of configs no profile uses, and an empty document).
 */
export function notificationConfigIdentity(doc: unknown): { type: string; name: string } | undefined {
  if (!isRecord(doc)) {
    return undefined;
  }
  const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');
  return { type: text(doc.type), name: text(doc.name) };
}

/**
 * Validates one YAML-parsed document of a notification config of type http and compiles its `format`. Throws
 * {@link NotificationConfigError} naming `source` and the key. `env` expands `$VAR` and `${VAR}` in the plugin's
 * own keys (url, headers, method, …) as the broker does before handing them over (csstring.StrictExpand:
 * undefined variables stay as written); `format`, `group_wait`, `group_threshold`, `max_retry` and `timeout`
 * are never expanded.
 */
export function parseHttpNotificationConfig(
  doc: unknown,
  source: string,
  env: EnvLookup = () => undefined,
): HttpNotificationConfig {
  const named = isRecord(doc) && typeof doc.name === 'string' && doc.name !== '' ? ` notification '${doc.name}'` : '';
  const fail: Fail = (key, problem) =>
    new NotificationConfigError(`${source}:${named}${key === '' ? '' : ` ${key}:`} ${problem}`);
  if (!isRecord(doc)) {
    throw fail('', 'a notification config must be a mapping');
  }
  const type = text(doc, 'type', fail);
  if (type === undefined || type === '') {
    throw fail('type', "missing required field 'type'");
  }
  if (type !== 'http') {
    throw fail('type', `'${type}' is not supported: only the http type is (this LAPI delivers notifications itself)`);
  }
  const name = text(doc, 'name', fail);
  if (name === undefined || name === '') {
    throw fail('name', 'missing required field');
  }
  const expand = (key: string) => {
    const value = text(doc, key, fail);
    return value === undefined ? undefined : strictExpand(value, env);
  };
  const url = expand('url') ?? '';
  if (!/^https?:\/\/[^/?#\s]+/i.test(url)) {
    throw fail('url', `must be an http:// or https:// URL, not '${url}'`);
  }
  const method = expand('method') ?? '';
  if (method !== '' && !METHOD.test(method)) {
    throw fail('method', `invalid method '${method}'`);
  }
  const timeoutMs = duration(doc, 'timeout', fail);
  let format: GoTemplate;
  try {
    format = compileGoTemplate(text(doc, 'format', fail) ?? '');
  } catch (e) {
    if (e instanceof TemplateParseError) {
      throw fail('format', e.message);
    }
    throw e;
  }
  const logLevel = expand('log_level');
  const unixSocket = expand('unix_socket');
  const certPath = expand('cert_path');
  const keyPath = expand('key_path');
  const caCertPath = expand('ca_cert_path');
  return {
    type: 'http',
    name,
    source,
    ...(logLevel !== undefined && logLevel !== '' && { logLevel }),
    format,
    url,
    method,
    headers: headers(doc.headers, env, fail),
    skipTlsVerification: boolean(doc, 'skip_tls_verification', fail) ?? false,
    ...(unixSocket !== undefined && unixSocket !== '' && { unixSocket }),
    ...(certPath !== undefined && certPath !== '' && { certPath }),
    ...(keyPath !== undefined && keyPath !== '' && { keyPath }),
    ...(caCertPath !== undefined && caCertPath !== '' && { caCertPath }),
    groupWaitMs: duration(doc, 'group_wait', fail),
    groupThreshold: count(doc, 'group_threshold', fail),
    maxRetry: count(doc, 'max_retry', fail),
    timeoutMs: timeoutMs === 0 ? DEFAULT_NOTIFICATION_TIMEOUT_MS : timeoutMs,
    ignoredKeys: Object.keys(doc).filter((key) => !KNOWN_KEYS.has(key)),
  };
}

/** A YAML scalar read into a Go string: numbers and booleans keep their text, as yaml decodes them. */
function text(doc: Record<string, unknown>, key: string, fail: Fail): string | undefined {
  const value = doc[key];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  throw fail(key, 'must be a string');
}

function boolean(doc: Record<string, unknown>, key: string, fail: Fail): boolean | undefined {
  const value = doc[key];
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'boolean') {
    return value;
  }
  // yaml.v2 (YAML 1.1), which decodes the reference's configs, also reads these words as booleans.
  if (typeof value === 'string' && YAML11_BOOLEANS.has(value)) {
    return YAML11_BOOLEANS.get(value);
  }
  throw fail(key, 'must be true or false');
}

const YAML11_BOOLEANS = new Map<string, boolean>([
  ...['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON'].map((w): [string, boolean] => [w, true]),
  ...['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF'].map((w): [string, boolean] => [w, false]),
]);

function count(doc: Record<string, unknown>, key: string, fail: Fail): number {
  const value = doc[key];
  if (value === undefined || value === null) {
    return 0;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw fail(key, `must be a whole number, 0 or more, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** A Go duration (time.ParseDuration: no days), in milliseconds; 0 when unset. */
function duration(doc: Record<string, unknown>, key: string, fail: Fail): number {
  const value = doc[key];
  if (value === undefined || value === null) {
    return 0;
  }
  if (typeof value === 'number') {
    // yaml.v2 reads a bare number into a time.Duration as nanoseconds: `group_wait: 30` would be 30ns.
    throw fail(key, `${value} has no unit (the reference would read ${value} nanoseconds); write e.g. ${value}s`);
  }
  if (typeof value !== 'string') {
    throw fail(key, 'must be a duration such as 30s');
  }
  const ns = /^[+-]?\d+d/.test(value) ? null : parseGoDuration(value);
  if (ns === null) {
    throw fail(key, `invalid duration '${value}' (Go durations: 300ms, 30s, 5m, 1h30m)`);
  }
  if (ns < 0n) {
    throw fail(key, `must not be negative, not '${value}'`);
  }
  return Number(ns) / 1e6;
}

function headers(value: unknown, env: EnvLookup, fail: Fail): Record<string, string> {
  if (value === undefined || value === null) {
    return {};
  }
  if (!isRecord(value)) {
    throw fail('headers', 'must be a mapping of header names to values');
  }
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(value)) {
    if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
      throw fail(`headers.${key}`, 'must be a string');
    }
    const name = strictExpand(key, env);
    if (!METHOD.test(name)) {
      throw fail(`headers.${key}`, 'is not a valid header name');
    }
    out[name] = strictExpand(String(raw), env);
  }
  return out;
}

/**
 * go-cs-lib's csstring.StrictExpand (the broker's expansion since 1.5; 1.4.6 used os.ExpandEnv, which blanks
 * undefined variables): `${VAR}` and `$VAR` of defined variables are replaced, the rest is kept as written.
 */
export function strictExpand(s: string, env: EnvLookup): string {
  let out = s;
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== '$') {
      continue;
    }
    if (out[i + 1] === '{') {
      const close = out.indexOf('}', i + 2);
      if (close < 0) {
        continue;
      }
      const value = env(out.slice(i + 2, close));
      if (value !== undefined) {
        out = out.slice(0, i) + value + out.slice(close + 1);
      }
      continue;
    }
    let end = i + 1;
    while (end < out.length && /[A-Za-z0-9_]/.test(out[end])) {
      end++;
    }
    if (end > i + 1) {
      const value = env(out.slice(i + 1, end));
      if (value !== undefined) {
        out = out.slice(0, i) + value + out.slice(end);
      }
    }
  }
  return out;
}

/** One YAML document of notification_dir, already parsed, with where it came from (`file` or `file#2`). */
export interface NotificationDocument {
  readonly doc: unknown;
  readonly source: string;
}

export interface NotificationConfigs {
  readonly byName: ReadonlyMap<string, HttpNotificationConfig>;
  /** Things the reference accepts silently or with a warning: duplicates, ignored keys. */
  readonly warnings: readonly string[];
}

/**
 * The http configs of a notification_dir, by name. Empty documents are skipped. With `used` (the names the
 * profiles' `notifications` lists), the other documents are skipped without validation, as 1.4.6's broker does,
 * and a used name with no config is an error ("config file for plugin … not found"); without it, every
 * document must be a valid http config. A name defined twice keeps the last one, with a warning.
 */
export function compileNotificationConfigs(
  documents: readonly NotificationDocument[],
  options: { readonly env?: EnvLookup; readonly used?: readonly string[] } = {},
): NotificationConfigs {
  const byName = new Map<string, HttpNotificationConfig>();
  const warnings: string[] = [];
  const used = options.used === undefined ? undefined : new Set(options.used);
  for (const { doc, source } of documents) {
    if (doc === null || doc === undefined || (isRecord(doc) && Object.keys(doc).length === 0)) {
      continue;
    }
    const identity = notificationConfigIdentity(doc);
    if (used !== undefined && identity !== undefined && !used.has(identity.name)) {
      continue;
    }
    const config = parseHttpNotificationConfig(doc, source, options.env);
    if (byName.has(config.name)) {
      warnings.push(`${source}: notification '${config.name}' is defined multiple times; this one is used`);
    }
    if (config.ignoredKeys.length > 0) {
      warnings.push(`${source}: notification '${config.name}': ignored keys ${config.ignoredKeys.join(', ')}`);
    }
    byName.set(config.name, config);
  }
  for (const name of used ?? []) {
    if (!byName.has(name)) {
      throw new NotificationConfigError(
        `config file for plugin ${name} not found (no notification config has that name)`,
      );
    }
  }
  return { byName, warnings };
}
