import { nestAdminContext, runAdminRequest, type AdminRequest } from '@lapi/application';
import { DomainError } from '@lapi/domain';
import { adminSocketPath, parseJsonInSlices } from '@lapi/event-store';
import { Logger, type INestApplication } from '@nestjs/common';
import { chmodSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname } from 'node:path';
import { BouncerApiKeyGuard } from '../auth/bouncer-api-key.guard';
import { MachineTokenCheck } from '../auth/machine-token-check';

/**
 * In embedded mode the server owns the PGlite files, so `lapi` hands its commands to the server over a unix
 * socket in the data directory, in a directory only the owner of the data may enter.
 */
export async function startAdminSocket(app: INestApplication, dataDir: string): Promise<{ close(): Promise<void> }> {
  const path = adminSocketPath(dataDir);
  makePrivateDirectory(dirname(path));
  if (existsSync(path)) {
    unlinkSync(path); // the data-dir lock proves no live server owns it
  }
  const admin = nestAdminContext(app);
  const logger = new Logger('AdminSocket');
  const server = createServer((req, res) => {
    if (req.method !== 'POST') {
      // A liveness probe from the CLI.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"result":"up"}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        let status = 200;
        let body: unknown;
        try {
          // In slices: an import of 100k decisions is a request of several MB.
          const request = (await parseJsonInSlices(Buffer.concat(chunks))) as AdminRequest;
          body = { result: await runAdminRequest(request, admin) };
          if (request.op.startsWith('bouncers.') || request.op === 'crowdsec.import') {
            // A bouncer deleted here is refused from the next request on, not after the key cache's few seconds.
            app.get(BouncerApiKeyGuard).forgetKeys();
          }
          if (request.op.startsWith('machines.') || request.op === 'crowdsec.import') {
            // Likewise a machine deleted (or pruned) here: its tokens are refused at once.
            app.get(MachineTokenCheck).forgetAll();
          }
        } catch (error) {
          status = error instanceof DomainError ? 400 : 500;
          if (status === 500) {
            logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
          }
          body = {
            error: {
              code: error instanceof DomainError ? error.code : 'INTERNAL',
              message: error instanceof Error ? error.message : String(error),
            },
          };
        }
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  chmodSync(path, 0o600); // the directory already keeps others out; the socket's own mode says the same
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

/** Makes `dir` (created if missing) 0700 and checks it is this user's directory, not a link to somewhere else. */
function makePrivateDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stats = lstatSync(dir);
  const uid = process.geteuid?.();
  if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid)) {
    throw new Error(
      `${dir} must be a directory owned by the user running the server (uid ${uid}), for the admin socket`,
    );
  }
  chmodSync(dir, 0o700);
  if ((lstatSync(dir).mode & 0o077) !== 0) {
    throw new Error(`${dir} stays accessible to other users after chmod 0700: the admin socket would be too`);
  }
}
