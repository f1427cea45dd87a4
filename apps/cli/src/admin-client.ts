import type { AdminRequest } from '@lapi/application';
import type { AppConfig } from '@lapi/config';
import { adminSocketPath, hasEmbeddedDatabase } from '@lapi/event-store/data-dir-lock';
import { request } from 'node:http';
import { resolve } from 'node:path';

// Loaded by every command: node:http only. The database, its driver and the rest come in with ./direct-admin,
// and only when a request runs here rather than in the running server (issue #18).

/** An admin request failed for a reason the user should read (unknown machine, duplicate name…). */
export class AdminError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Transport = 'server' | 'direct';

/**
 * Runs an admin request where the data is: against Postgres directly, or in embedded mode through the running
 * server's admin socket (PGlite must not be opened by two processes), else directly on the stopped server's files.
 */
export async function sendAdminRequest(
  config: AppConfig,
  req: AdminRequest | { op: 'migrate' },
): Promise<{ result: unknown; via: Transport }> {
  if (config.database.kind === 'embedded') {
    const viaSocket = await trySocket(adminSocketPath(config.dataDir), req);
    if (viaSocket !== undefined) {
      return { result: viaSocket, via: 'server' };
    }
    if (req.op !== 'migrate' && !hasEmbeddedDatabase(config.dataDir)) {
      // Opening it would create an empty database (and its directory) where the server's is not.
      throw new AdminError('NO_DATABASE', noDatabase(config.dataDir));
    }
  }
  direct ??= await import('./direct-admin');
  return { result: await direct.runDirect(config, req, keepOpen), via: 'direct' };
}

/** What to say when the embedded data directory holds no database: where lapi looked, and the three ways to point it. */
export const noDatabase = (dataDir: string): string =>
  [
    `no database in ${resolve(dataDir)}: lapi looked for the embedded database there (LAPI_DATA_DIR, default ./data in the current directory) and created nothing.`,
    "Point it at the server's database (the server prints the command when it starts):",
    "  lapi --data-dir /path/to/data …                 the server's data directory",
    '  LAPI_DATA_DIR=/path/to/data lapi …              the same, from the environment',
    '  DATABASE_URL=postgres://user@host/db lapi …     a server on PostgreSQL',
    'or create a new, empty database there with `lapi migrate`.',
  ].join('\n');

let direct: typeof import('./direct-admin') | undefined;
let keepOpen = false;

/**
 * Runs `work` (a command) with the database opened once for all the requests it sends directly, rather than once
 * per request; closed at the end.
 */
export async function adminSession<T>(work: () => Promise<T>): Promise<T> {
  keepOpen = true;
  try {
    return await work();
  } finally {
    keepOpen = false;
    await direct?.closeKeptSession(); // loaded only if some request ran directly
  }
}

/** The server's answer, or undefined when no server listens on the socket. */
function trySocket(socketPath: string, req: AdminRequest | { op: 'migrate' }): Promise<unknown> {
  if (req.op === 'migrate') {
    // A running server migrated at start; nothing to hand over.
    return connectable(socketPath).then((up) => (up ? { migrated: [] } : undefined));
  }
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(req);
    const r = request(
      {
        socketPath,
        path: '/',
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
              result?: unknown;
              error?: { code: string; message: string };
            };
            if (parsed.error) {
              reject(new AdminError(parsed.error.code, parsed.error.message));
            } else {
              resolve(parsed.result ?? null);
            }
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    r.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ECONNREFUSED') {
        resolve(undefined);
      } else {
        reject(error);
      }
    });
    r.end(body);
  });
}

function connectable(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const r = request({ socketPath, path: '/', method: 'GET' }, (res) => {
      res.resume();
      resolve(true);
    });
    r.on('error', () => resolve(false));
    r.end();
  });
}
