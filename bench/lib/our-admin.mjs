// Many admin requests in one process (1,000 bouncers for the delta workload): `lapi` starts a process per request.
// Run with the server's environment; reads a JSON array of admin requests on stdin, writes their results.
// Cluster mode: one application context on PostgreSQL, as `lapi` does per call. Embedded: the server's admin socket.
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import 'reflect-metadata';

const require = createRequire(import.meta.url);
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'libs');
const { ApplicationModule, nestAdminContext, runAdminRequest } = require(join(dist, 'application/src/index.js'));
const { openDatabase, adminSocketPath } = require(join(dist, 'event-store/src/index.js'));
const { loadConfig } = require(join(dist, 'config/src/index.js'));
const { NestFactory } = require('@nestjs/core');

const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const requests = JSON.parse(Buffer.concat(chunks).toString());
const config = loadConfig(undefined, { requireSecret: false });
const results = [];

if (config.database.kind === 'embedded') {
  const socketPath = adminSocketPath(config.dataDir);
  for (const req of requests) {
    results.push(
      await new Promise((resolve, reject) => {
        const body = JSON.stringify(req);
        const r = request(
          { socketPath, path: '/', method: 'POST', headers: { 'content-type': 'application/json' } },
          (res) => {
            const parts = [];
            res.on('data', (c) => parts.push(c));
            res.on('end', () => {
              const parsed = JSON.parse(Buffer.concat(parts).toString());
              parsed.error ? reject(new Error(parsed.error.message)) : resolve(parsed.result);
            });
          },
        );
        r.on('error', reject);
        r.end(body);
      }),
    );
  }
} else {
  const database = await openDatabase(config.database, { maxConnections: 2 });
  const context = await NestFactory.createApplicationContext(ApplicationModule.register({ database }), {
    logger: false,
  });
  for (const req of requests) results.push(await runAdminRequest(req, nestAdminContext(context)));
  await context.close();
  await database.close();
}
process.stdout.write(JSON.stringify(results));
