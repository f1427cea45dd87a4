/** One answered request as the access log records it: never a header or a body, so no key, password or token. */
export interface AccessLogEntry {
  readonly requestId: string;
  readonly method: string;
  /** The matched route pattern. */
  readonly route: string;
  /** The path without its query string. */
  readonly path: string;
  readonly status: number;
  readonly ms: number;
  readonly ip: string;
  readonly machine?: string;
  readonly bouncer?: string;
}

/** Probes come every few seconds: they are logged at debug level only (scrapes go to the metrics listener). */
const QUIET_ROUTES = new Set(['/health']);

export const accessLogLevel = (route: string): 'log' | 'debug' => (QUIET_ROUTES.has(route) ? 'debug' : 'log');

/** The entry as a JSON log collector wants it (an object), or as one readable line for a terminal. */
export function formatAccessLog(e: AccessLogEntry, format: 'json' | 'pretty'): object | string {
  if (format === 'json') {
    return { msg: 'request', ...e };
  }
  const who =
    e.machine !== undefined ? ` machine=${e.machine}` : e.bouncer !== undefined ? ` bouncer=${e.bouncer}` : '';
  return `${e.method} ${e.path} ${e.status} ${e.ms} ms ip=${e.ip}${who} request=${e.requestId}`;
}
