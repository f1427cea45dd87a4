import { NANOS_PER_MS, parseGoDuration } from '@lapi/domain/shared/go-duration';
import { z } from 'zod';

/** The reference's db_config.flush: alert retention and the autodelete of silent machines and bouncers (ms). */
export interface RetentionConfig {
  readonly flush: { readonly maxItems?: number; readonly maxAgeMs?: number };
  readonly autodelete: {
    readonly machines: { readonly password?: number; readonly tls?: number; readonly notSeen?: number };
    readonly bouncers: { readonly apiKey?: number; readonly tls?: number };
  };
}

// Agents send a heartbeat every minute (apiclient/heartbeat.go) and a bouncer's last pull is recorded at most once a
// minute: below a few minutes a live client could look silent and be deleted. The reference sets no floor.
export const MIN_AUTODELETE_MS = 5 * 60_000;

/** A Go duration with the reference's optional days (`7d`, `36h`, `1d12h`), positive and at least `minMs`, in ms. */
const duration = (minMs: number, floorReason: string) =>
  z.string().transform((text, ctx) => {
    const ns = parseGoDuration(text.trim());
    if (ns === null) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'expected a duration such as 7d, 36h or 90m' });
      return z.NEVER;
    }
    const ms = Number(ns / NANOS_PER_MS);
    if (ms <= 0) {
      // The reference's 1.4.6 would flush everything for 0 or a negative age; unset means no limit.
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be positive (leave it unset for no limit)' });
      return z.NEVER;
    }
    if (ms < minMs) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: floorReason });
      return z.NEVER;
    }
    return ms;
  });

const autodelete = duration(MIN_AUTODELETE_MS, 'must be at least 5m: live clients only check in about once a minute');

// Compaction measures its window on the log's clock, and a rebuild stays numbered as the first build only if no
// deletion comes later than the window after a decision ended (clock skew, slow transactions): keep it wide.
export const MIN_PROJECTION_RETENTION_MS = 60 * 60_000;

/** How long the cluster's decisions read model keeps decisions that ended (LAPI_PROJECTION_RETENTION), in ms. */
export const projectionRetention = duration(
  MIN_PROJECTION_RETENTION_MS,
  'must be at least 1h: a shorter window sends more bouncers a full answer',
);

/** How far behind the event log the projection may fall before GET /health/ready fails (LAPI_READY_MAX_LAG), in ms. */
export const readyMaxLag = duration(1_000, 'must be at least 1s: writes alone may wait up to 2s for the projection');

/** How long usage reports (POST /v1/usage-metrics) are kept (LAPI_METRICS_MAX_AGE, the reference's metrics_max_age). */
export const metricsMaxAge = duration(60 * 60_000, 'must be at least 1h: components report every 15 to 30 minutes');

/** The retention variables, merged into the environment schema. */
export const retentionEnv = {
  // The reference refuses max_items <= 0 ("max_items can't be zero or negative number").
  LAPI_FLUSH_MAX_ITEMS: z
    .string()
    .regex(/^\d+$/, 'expected a whole number of alerts')
    .transform(Number)
    .refine((n) => Number.isSafeInteger(n) && n >= 1, 'must be at least 1 (leave it unset for no limit)')
    .optional(),
  LAPI_FLUSH_MAX_AGE: duration(1, '').optional(),
  LAPI_AGENTS_AUTODELETE_LOGIN: autodelete.optional(),
  LAPI_AGENTS_AUTODELETE_CERT: autodelete.optional(),
  LAPI_BOUNCERS_AUTODELETE_API_KEY: autodelete.optional(),
  LAPI_BOUNCERS_AUTODELETE_CERT: autodelete.optional(),
  // Machines not seen for this long, heartbeat or not (pods that died before one, registrations never validated).
  LAPI_MACHINES_PRUNE_NOT_SEEN: autodelete.optional(),
};

type RetentionEnv = z.output<z.ZodObject<typeof retentionEnv>>;

const defined = <T extends object>(o: T): T =>
  Object.freeze(Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))) as T;

/** Unset variables leave their limit out; nothing is flushed or deleted unless configured. */
export const toRetentionConfig = (e: RetentionEnv): RetentionConfig =>
  Object.freeze({
    flush: defined({ maxItems: e.LAPI_FLUSH_MAX_ITEMS, maxAgeMs: e.LAPI_FLUSH_MAX_AGE }),
    autodelete: Object.freeze({
      machines: defined({
        password: e.LAPI_AGENTS_AUTODELETE_LOGIN,
        tls: e.LAPI_AGENTS_AUTODELETE_CERT,
        notSeen: e.LAPI_MACHINES_PRUNE_NOT_SEEN,
      }),
      bouncers: defined({ apiKey: e.LAPI_BOUNCERS_AUTODELETE_API_KEY, tls: e.LAPI_BOUNCERS_AUTODELETE_CERT }),
    }),
  });
