import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What a scrape asks for. */
export interface Scrapable {
  scrape(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsServer {
  readonly port: number;
  /** Where it is scraped: `http://host:port/metrics`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The Prometheus listener of a process (LAPI_METRICS_LISTEN_URI), apart from the API port as the reference's
 * prometheus.listen_addr: its labels name every machine and bouncer. A bare HTTP server answering `GET /metrics`
 * (and HEAD); everything else is 404.
 */
export async function serveMetrics(metrics: Scrapable, listen: { host: string; port: number }): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '').split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    metrics.scrape().then(
      (text) => response.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `${formatListen({ host: listen.host, port })}/metrics`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * serveMetrics, unless its address is taken: then `warn` says so and the process goes on without metrics (replicas
 * on one host all default to 127.0.0.1:6060; the first one gets it). Any other failure is thrown.
 */
export async function serveMetricsIfFree(
  metrics: Scrapable,
  listen: { host: string; port: number },
  warn: (message: string) => void,
): Promise<MetricsServer | undefined> {
  try {
    return await serveMetrics(metrics, listen);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
      throw error;
    }
    warn(
      `metrics not served: ${formatListen(listen)} is in use (another process took it); set LAPI_METRICS_LISTEN_URI ` +
        'to a free address, or to an empty value to turn metrics off',
    );
    return undefined;
  }
}

/** `http://host:port`, with brackets around an IPv6 host. */
const formatListen = (listen: { host: string; port: number }): string =>
  `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
