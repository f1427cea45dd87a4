#!/usr/bin/env node
// The admin CLI's timings alone (issue #18; `npm run bench` runs the same step): `lapi` in embedded mode with the
// server running, on PostgreSQL alone and in cluster mode (PostgreSQL + Redis), next to cscli 1.4.6 on its SQLite
// and on its PostgreSQL database.
//
//   npm run build && node bench/cli.mjs [--calls 10] [--bulk 1000] [--machines 100] [--skip-reference]
//   BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_REDIS_URL (redis://127.0.0.1:6379)
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliOf, cliTimings, formatCliReport } from './lib/cli-timings.mjs';
import { killAll } from './lib/proc.mjs';
import { startOurs, startReference } from './lib/servers.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1];
};
const CALLS = Number(option('calls', 10));
const BULK = Number(option('bulk', 1000));
const MACHINES = Number(option('machines', 100));
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CROWDSEC_BIN = process.env.CROWDSEC_BIN ?? '/usr/bin/crowdsec';
const RUN = randomBytes(3).toString('hex');
const log = (...a) => process.stderr.write(`[bench cli ${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);

async function main() {
  if (!existsSync(join(ROOT, 'dist/apps/cli/src/main.js'))) {
    throw new Error('run `npm run build` first');
  }
  log(
    `load average at start: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  const options = { calls: CALLS, bulk: BULK, machines: MACHINES, log };
  const results = [];
  const starts = [
    () => startOurs({ root: ROOT, mode: 'embedded', id: `${RUN}e` }),
    () => startOurs({ root: ROOT, mode: 'postgres', pgUrl: PG_URL, id: `${RUN}p` }),
    () => startOurs({ root: ROOT, mode: 'cluster', pgUrl: PG_URL, redisUrl: REDIS_URL, id: `${RUN}c` }),
  ];
  if (!argv.includes('--skip-reference') && existsSync(CROWDSEC_BIN)) {
    for (const database of ['sqlite', 'postgres'])
      starts.push(() => startReference({ database, pgUrl: PG_URL, id: `${RUN}r`, crowdsecBin: CROWDSEC_BIN }));
  }
  for (const start of starts) {
    const server = await start();
    try {
      results.push(cliTimings(cliOf(server, ROOT), options));
    } finally {
      await server.stop();
    }
  }
  process.stdout.write(`${formatCliReport(results, { calls: CALLS })}\n`);
  log(
    `load average at end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
}

main().catch((error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  killAll();
  process.exit(1);
});
