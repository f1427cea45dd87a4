import { NANOS_PER_MS, parseGoDuration } from '@lapi/domain/shared/go-duration';
import { parseIpRange } from '@lapi/domain/shared/ip-range';
import { z } from 'zod';
import {
  metricsMaxAge,
  projectionRetention,
  readyMaxLag,
  retentionEnv,
  toRetentionConfig,
  type RetentionConfig,
} from './retention';
import { tlsEnv, toTlsConfig, type TlsConfig } from './tls';

/** Where the event store lives: a Postgres server, or PGlite files in the data directory. */
export type DatabaseConfig =
  | { kind: 'postgres'; url: string }
  /** fsync: each commit is on disk before it returns (default true); false leaves it in the OS page cache. */
  | { kind: 'embedded'; dataDir: string; fsync?: boolean };

export interface AppConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly database: DatabaseConfig;
  readonly redisUrl: string | undefined;
  /** Prefix of every Redis key, so several deployments (or test runs) can share one Redis. */
  readonly redisPrefix: string;
  readonly dataDir: string;
  /** JWT secret; undefined only in embedded mode, where it is generated once and kept in the data directory. */
  readonly jwtSecret: string | undefined;
  /** A second secret whose tokens are still accepted (never signed with), for rotating jwtSecret. */
  readonly jwtSecretPrevious: string | undefined;
  /** Client IP from X-Forwarded-For/X-Real-IP when the peer is one of these proxies; undefined: the peer only. */
  readonly trustedProxies: readonly string[] | undefined;
  /** Failed machine logins allowed per client IP and per machine id in each window, then 429. */
  readonly loginThrottle: { readonly maxPerIp: number; readonly maxPerMachine: number; readonly windowMs: number };
  /** bcrypt operations (logins, registrations) waiting for a thread, beyond which new ones get a 503. */
  readonly bcryptMaxQueued: number;
  readonly trustedIps: readonly string[];
  readonly profilesPath: string | undefined;
  readonly logLevel: LogLevel;
  readonly logFormat: 'json' | 'pretty';
  /** Where this process serves Prometheus metrics (`GET /metrics`), apart from the API port; undefined: nowhere. */
  readonly metricsListen: { readonly host: string; readonly port: number } | undefined;
  readonly disableRemoteRegistration: boolean;
  /** The reference's api.server.auto_registration: agents with the token, from these ranges, are validated at once. */
  readonly autoRegistration: { readonly token: string; readonly allowedRanges: readonly string[] } | undefined;
  readonly retention: RetentionConfig;
  /** Cluster mode: how long the Redis decisions read model keeps decisions that ended (ms). */
  readonly projectionRetentionMs: number;
  /** Usage reports of bouncers and agents are kept this long (ms), the reference's metrics_max_age. */
  readonly usageMetricsMaxAgeMs: number;
  /** Cluster mode: GET /health/ready fails once the projection is this far behind the event log (ms). */
  readonly readyMaxLagMs: number;
  /** The reference's notification_dir: the http plugin configs that profiles' `notifications` name. */
  readonly notificationsDir: string | undefined;
  /** HTTPS and client-certificate authentication; undefined: plain HTTP. */
  readonly tls: TlsConfig | undefined;
  /** Signed webhook of decision changes, for receivers that are not CrowdSec bouncers. */
  readonly webhook: { readonly url: string; readonly secret: string } | undefined;
}

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const listenUri = z
  .string()
  .regex(/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/, 'expected HOST:PORT, e.g. 127.0.0.1:8080')
  .transform((value, ctx) => {
    const idx = value.lastIndexOf(':');
    const host = value.slice(0, idx).replace(/^\[(.*)\]$/, '$1');
    const port = Number(value.slice(idx + 1));
    if (port < 0 || port > 65535) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'port must be between 0 and 65535' });
    }
    return { host, port };
  });

const booleanString = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const cidrOrIp = /^[0-9a-fA-F:.]+(\/\d{1,3})?$/;

/**
 * A comma-separated list of IPs or CIDR ranges (only ranges with `cidrOnly`). An entry that does not parse is named
 * in the error: dropping it would quietly trust less, or more, than the operator wrote.
 */
const ipRangeList = ({ cidrOnly = false, nonEmpty = false } = {}) =>
  z.string().transform((s, ctx) => {
    const list = s
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const bad = list.filter((p) => !cidrOrIp.test(p) || parseIpRange(p) === null || (cidrOnly && !p.includes('/')));
    const expected = cidrOnly ? 'CIDR ranges' : 'IPs or CIDR ranges';
    if (bad.length > 0) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `expected a comma-separated list of ${expected}; not one: ${bad.map((p) => `"${p}"`).join(', ')}`,
      });
      return z.NEVER;
    }
    if (nonEmpty && list.length === 0) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `expected a comma-separated list of ${expected}` });
      return z.NEVER;
    }
    return list;
  });

const jwtSecret = z.string().refine((s) => Buffer.byteLength(s) >= 64, 'must be at least 64 bytes long');

const positiveInt = z
  .string()
  .regex(/^\d{1,9}$/, 'expected a whole number')
  .transform(Number)
  .refine((n) => n >= 1, 'must be at least 1');

// Whole seconds at least: Retry-After counts in seconds.
const loginFailureWindow = z.string().transform((text, ctx) => {
  const ns = parseGoDuration(text.trim());
  const ms = ns === null ? Number.NaN : Number(ns / NANOS_PER_MS);
  if (!(ms >= 1000)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a duration of at least 1s, such as 1m or 90s' });
    return z.NEVER;
  }
  return ms;
});

const envSchema = z.object({
  // Same default as the reference's api.server.listen_uri.
  LAPI_LISTEN_URI: listenUri.default('127.0.0.1:8080'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'expected a redis:// URL')
    .optional(),
  LAPI_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits, ":", "_" or "-", at most 64')
    .default('lapi:'),
  // Relative to the working directory, so `npm start` keeps its data next to the checkout.
  LAPI_DATA_DIR: z.string().min(1).default('./data'),
  // Embedded mode: false trades durability for commit speed (an OS crash or power loss can lose or corrupt data).
  LAPI_EMBEDDED_FSYNC: booleanString.default('true'),
  // The reference refuses secrets shorter than 64 bytes (apiserver/middlewares/v1/jwt.go).
  CS_LAPI_SECRET: jwtSecret.optional(),
  // Rotation: tokens signed with it are still accepted (until they expire); new ones are signed with CS_LAPI_SECRET.
  CS_LAPI_SECRET_PREVIOUS: jwtSecret.optional(),
  // Debian's default trusted_ips; loopback is always trusted on top of these.
  LAPI_TRUSTED_IPS: ipRangeList().default('127.0.0.1,::1'),
  // The reference's use_forwarded_for_headers and trusted_proxies: the proxies turn the headers on; the flag alone is
  // refused (the reference would then believe every IPv4 peer).
  LAPI_USE_FORWARDED_FOR_HEADERS: booleanString.optional(),
  LAPI_TRUSTED_PROXIES: ipRangeList({ nonEmpty: true }).optional(),
  // Only failures count: a fleet behind one NAT logging in at once never reaches these.
  LAPI_LOGIN_MAX_FAILURES_PER_IP: positiveInt.default('10'),
  LAPI_LOGIN_MAX_FAILURES_PER_MACHINE: positiveInt.default('5'),
  LAPI_LOGIN_FAILURE_WINDOW: loginFailureWindow.default('1m'),
  // With one bcrypt thread per core at ~0.1 s an operation, 64 waiting is a few seconds: a fleet restarting at once
  // gets in, a storm gets 503s (agents retry) instead of a queue that grows for minutes.
  LAPI_BCRYPT_MAX_QUEUED: positiveInt.default('64'),
  LAPI_PROFILES_PATH: z.string().min(1).optional(),
  LAPI_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  LAPI_NOTIFICATIONS_DIR: z.string().min(1).optional(),
  LAPI_WEBHOOK_URL: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'expected an http:// or https:// URL')
    .optional(),
  // HMAC-SHA256 key: short keys are guessable.
  LAPI_WEBHOOK_SECRET: z
    .string()
    .refine((s) => Buffer.byteLength(s) >= 32, 'must be at least 32 bytes long')
    .optional(),
  // Pretty logs for a person at a terminal; JSON for log collectors in a cluster.
  LAPI_LOG_FORMAT: z.enum(['json', 'pretty']).default('pretty'),
  // The reference's prometheus.listen_addr:listen_port default. Its own listener: the labels name every machine and
  // bouncer, so it stays off the API port. An empty value turns it off (handled in loadConfig).
  LAPI_METRICS_LISTEN_URI: listenUri.default('127.0.0.1:6060'),
  // Before LAPI_METRICS_LISTEN_URI: the worker's metrics on this port, all interfaces. Still read (as 0.0.0.0:PORT).
  LAPI_WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // Reference ≥1.5.0 `disable_remote_lapi_registration`: off by default like the reference.
  LAPI_DISABLE_REMOTE_REGISTRATION: booleanString.default('false'),
  // Reference ≥1.6.5 api.server.auto_registration: the token is at least 32 characters (and at most the 255 a
  // registration request may carry), the ranges are CIDRs and required with it.
  LAPI_AUTO_REGISTRATION_TOKEN: z
    .string()
    .refine((s) => s.length >= 32 && s.length <= 255, 'must be 32 to 255 characters long')
    .optional(),
  LAPI_AUTO_REGISTRATION_ALLOWED_RANGES: ipRangeList({ cidrOnly: true, nonEmpty: true }).optional(),
  ...retentionEnv,
  ...tlsEnv,
  LAPI_PROJECTION_RETENTION: projectionRetention.default('24h'),
  // The reference's default metrics_max_age.
  LAPI_METRICS_MAX_AGE: metricsMaxAge.default('7d'),
  // The projection is shared: past this, every replica turns unready at once, so only a stalled one should reach it.
  LAPI_READY_MAX_LAG: readyMaxLag.default('60s'),
});

/** Every variable the server reads, for documentation and error messages. */
export const CONFIG_VARIABLES = Object.keys(envSchema.shape);

/** Validates the environment once; throws a ConfigError naming every bad variable. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  options: { requireSecret?: boolean; dataDir?: string } = {},
): AppConfig {
  const present = Object.fromEntries(
    CONFIG_VARIABLES.filter((k) => env[k] !== undefined && env[k] !== '').map((k) => [k, env[k]]),
  );
  if (options.dataDir !== undefined) {
    // The admin CLI's --data-dir: in place of LAPI_DATA_DIR, checked by the same rule.
    present.LAPI_DATA_DIR = options.dataDir;
  }
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const database: DatabaseConfig = e.DATABASE_URL
    ? { kind: 'postgres', url: e.DATABASE_URL }
    : { kind: 'embedded', dataDir: e.LAPI_DATA_DIR, fsync: e.LAPI_EMBEDDED_FSYNC };
  // The admin CLI signs no tokens, so it does not need the secret.
  if (database.kind === 'postgres' && !e.CS_LAPI_SECRET && options.requireSecret !== false) {
    // Replicas must share the secret or a token from one is refused by the others.
    throw new ConfigError([
      'CS_LAPI_SECRET: required when DATABASE_URL is set (every replica must sign tokens with the same secret of at least 64 bytes)',
    ]);
  }
  if (e.LAPI_TRUSTED_PROXIES && e.LAPI_USE_FORWARDED_FOR_HEADERS === false) {
    throw new ConfigError([
      'LAPI_TRUSTED_PROXIES: set, but LAPI_USE_FORWARDED_FOR_HEADERS=false turns the headers off',
    ]);
  }
  if (e.LAPI_USE_FORWARDED_FOR_HEADERS === true && !e.LAPI_TRUSTED_PROXIES) {
    // The reference then trusts every IPv4 peer: any client could name its own address past the trusted IPs and the
    // per-IP login throttle.
    throw new ConfigError([
      'LAPI_USE_FORWARDED_FOR_HEADERS=true needs LAPI_TRUSTED_PROXIES: list the proxies whose X-Forwarded-For is believed (otherwise any client could choose its own address)',
    ]);
  }
  if (e.LAPI_WORKER_METRICS_PORT !== undefined && env.LAPI_METRICS_LISTEN_URI !== undefined) {
    throw new ConfigError([
      'LAPI_WORKER_METRICS_PORT: replaced by LAPI_METRICS_LISTEN_URI; set only LAPI_METRICS_LISTEN_URI (e.g. 0.0.0.0:9464)',
    ]);
  }
  const metricsListen =
    e.LAPI_WORKER_METRICS_PORT !== undefined
      ? { host: '0.0.0.0', port: e.LAPI_WORKER_METRICS_PORT }
      : env.LAPI_METRICS_LISTEN_URI === ''
        ? undefined
        : e.LAPI_METRICS_LISTEN_URI;
  if ((e.LAPI_WEBHOOK_URL === undefined) !== (e.LAPI_WEBHOOK_SECRET === undefined)) {
    throw new ConfigError(['LAPI_WEBHOOK_URL and LAPI_WEBHOOK_SECRET: set both or neither (every delivery is signed)']);
  }
  if ((e.LAPI_AUTO_REGISTRATION_TOKEN === undefined) !== (e.LAPI_AUTO_REGISTRATION_ALLOWED_RANGES === undefined)) {
    // As the reference: a token without ranges is refused ("missing allowed_ranges value").
    throw new ConfigError([
      'LAPI_AUTO_REGISTRATION_TOKEN and LAPI_AUTO_REGISTRATION_ALLOWED_RANGES: set both or neither (auto-registration needs the ranges it accepts)',
    ]);
  }
  const autoRegistration =
    e.LAPI_AUTO_REGISTRATION_TOKEN && e.LAPI_AUTO_REGISTRATION_ALLOWED_RANGES
      ? Object.freeze({
          token: e.LAPI_AUTO_REGISTRATION_TOKEN,
          allowedRanges: Object.freeze(e.LAPI_AUTO_REGISTRATION_ALLOWED_RANGES),
        })
      : undefined;
  const { tls, problems: tlsProblems } = toTlsConfig(e, (name) => name in present);
  if (tlsProblems.length > 0) {
    throw new ConfigError(tlsProblems);
  }
  const webhook =
    e.LAPI_WEBHOOK_URL && e.LAPI_WEBHOOK_SECRET
      ? Object.freeze({ url: e.LAPI_WEBHOOK_URL, secret: e.LAPI_WEBHOOK_SECRET })
      : undefined;
  return Object.freeze({
    listen: Object.freeze(e.LAPI_LISTEN_URI),
    database: Object.freeze(database),
    redisUrl: e.REDIS_URL,
    redisPrefix: e.LAPI_REDIS_PREFIX,
    dataDir: e.LAPI_DATA_DIR,
    jwtSecret: e.CS_LAPI_SECRET,
    jwtSecretPrevious: e.CS_LAPI_SECRET_PREVIOUS,
    trustedProxies: e.LAPI_TRUSTED_PROXIES && Object.freeze(e.LAPI_TRUSTED_PROXIES),
    loginThrottle: Object.freeze({
      maxPerIp: e.LAPI_LOGIN_MAX_FAILURES_PER_IP,
      maxPerMachine: e.LAPI_LOGIN_MAX_FAILURES_PER_MACHINE,
      windowMs: e.LAPI_LOGIN_FAILURE_WINDOW,
    }),
    bcryptMaxQueued: e.LAPI_BCRYPT_MAX_QUEUED,
    trustedIps: Object.freeze(e.LAPI_TRUSTED_IPS),
    profilesPath: e.LAPI_PROFILES_PATH,
    logLevel: e.LAPI_LOG_LEVEL,
    logFormat: e.LAPI_LOG_FORMAT,
    metricsListen: metricsListen && Object.freeze(metricsListen),
    disableRemoteRegistration: e.LAPI_DISABLE_REMOTE_REGISTRATION,
    autoRegistration,
    retention: toRetentionConfig(e),
    projectionRetentionMs: e.LAPI_PROJECTION_RETENTION,
    readyMaxLagMs: e.LAPI_READY_MAX_LAG,
    usageMetricsMaxAgeMs: e.LAPI_METRICS_MAX_AGE,
    notificationsDir: e.LAPI_NOTIFICATIONS_DIR,
    webhook,
    tls,
  });
}

/** DI token for the AppConfig. */
export const APP_CONFIG = Symbol('APP_CONFIG');
