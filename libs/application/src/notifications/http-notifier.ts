import type { HttpNotificationConfig } from '@lapi/domain';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

/** Sends one notification's text; resolves with the HTTP status, rejects on a failed request (the only retried case). */
export type SendNotification = (config: HttpNotificationConfig, body: string) => Promise<number>;

/**
 * The reference's http plugin (cmd/notification-http/main.go): the rendered text as the body of `method url`, the
 * configured headers added, optional unix socket, client certificate, extra CA or no TLS verification; cut after
 * the config's timeout. Any answer is a success for the retry logic; the caller records non-2xx statuses.
 */
export const sendHttpNotification: SendNotification = (config, body) =>
  new Promise((resolve, reject) => {
    const url = new URL(config.url);
    const secure = url.protocol === 'https:';
    const options: RequestOptions & {
      rejectUnauthorized?: boolean;
      cert?: Buffer;
      key?: Buffer;
      ca?: (string | Buffer)[];
    } = {
      method: config.method === '' ? 'GET' : config.method,
      headers: { ...config.headers, 'content-length': Buffer.byteLength(body) },
      signal: AbortSignal.timeout(config.timeoutMs),
      ...(config.unixSocket !== undefined && { socketPath: config.unixSocket }),
    };
    if (secure) {
      options.rejectUnauthorized = !config.skipTlsVerification;
      if (config.certPath !== undefined && config.keyPath !== undefined) {
        options.cert = readFileSync(config.certPath);
        options.key = readFileSync(config.keyPath);
      }
      if (config.caCertPath !== undefined) {
        // Added to the system's CAs, as the plugin appends it to x509.SystemCertPool.
        options.ca = [...rootCertificates, readFileSync(config.caCertPath)];
      }
    }
    const req = (secure ? httpsRequest : httpRequest)(url, options, (res) => {
      res.resume(); // the plugin reads and discards the answer
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
