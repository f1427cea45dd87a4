#!/usr/bin/env node
// A short run of the bouncer request path alone: lookups (wrk, 50 connections) and delta polls of many bouncers,
// in some of our modes, next to the bare node:http ceiling; for before/after comparisons while working on the
// request path (the full comparison with the reference is `npm run bench`). Needs the build (npm run build).
//
//   node bench/focus.mjs [--modes embedded,postgres,cluster] [--sizes 100k] [--seconds 10] [--bouncers 1000]
//                        [--delta-seconds 30] [--skip-deltas] [--skip-ceiling]
//   BENCH_API_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" node bench/focus.mjs ...   # profile the API
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decisionValue, login, seed } from './lib/dataset.mjs';
import { cpuSecondsOf } from './lib/proc.mjs';
import { OUR_MODES, startBare, startOurs } from './lib/servers.mjs';
import { ceiling, lookups, streamDeltas, untilAnswered } from './lib/workloads.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1];
};
const flag = (name) => argv.includes(`--${name}`);
const count = (text) => {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text}`);
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, m: 1e6 }[m[2].toLowerCase()]);
};
const MODES = option('modes', 'embedded').split(',');
const unknown = MODES.filter((m) => !OUR_MODES[m]);
if (unknown.length) throw new Error(`--modes: unknown ${unknown.join(', ')}`);
const SIZES = option('sizes', '100k').split(',').map(count);
const SECONDS = Number(option('seconds', 10));
const BOUNCERS = Number(option('bouncers', 1000));
const DELTA_SECONDS = Number(option('delta-seconds', 30));
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const log = (...a) => process.stderr.write(`[focus ${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);
const fmt = (r) => `${Math.round(r.rps)} req/s p50 ${r.p50.toFixed(2)} ms p99 ${r.p99.toFixed(2)} ms`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

async function main() {
  const lines = [`load at start ${load()}`];
  if (!flag('skip-ceiling')) {
    const bare = await startBare();
    try {
      await ceiling(bare, { seconds: 2, connections: 50 });
      const r = await ceiling(bare, { seconds: SECONDS, connections: 50 });
      lines.push(`ceiling: ${fmt(r)}`);
      log(lines.at(-1));
    } finally {
      await bare.stop();
    }
  }
  for (const mode of MODES) {
    const server = await startOurs({
      root: ROOT,
      mode,
      pgUrl: PG_URL,
      redisUrl: REDIS_URL,
      id: randomBytes(3).toString('hex'),
    });
    try {
      const token = await login(server.url);
      const [key] = await server.addBouncers(['focus-lookups']);
      let seeded = 0;
      for (const n of SIZES) {
        log(mode, `seeding ${seeded} → ${n}`);
        await seed(server.url, token, seeded, n, { parallel: 4 });
        seeded = n;
        await untilAnswered(server, key, decisionValue(n - 1).value.replace(/\/\d+$/, ''));
        await lookups(server, { n, key, seconds: 2, connections: 50 });
        // The API's CPU time per request: unlike rates and latencies, it hardly depends on what else the machine runs.
        const cpu0 = cpuSecondsOf(server.processes.api.pid);
        const r = await lookups(server, { n, key, seconds: SECONDS, connections: 50 });
        const cpu = ((cpuSecondsOf(server.processes.api.pid) - cpu0) * 1e6) / r.requests;
        lines.push(
          `${mode} lookups at ${n}: ${fmt(r)} non2xx ${r.non2xx}, API CPU ${Math.round(cpu)} µs/request (load ${load()})`,
        );
        log(lines.at(-1));
      }
      if (!flag('skip-deltas')) {
        const keys = await server.addBouncers(Array.from({ length: BOUNCERS }, (_, i) => `focus-poller-${i}`));
        const cpu0 = cpuSecondsOf(server.processes.api.pid);
        const d = await streamDeltas(server, {
          keys,
          token,
          seconds: DELTA_SECONDS,
          intervalSeconds: 10,
          rate: 50,
          base: 2_000_000,
        });
        const cpu = ((cpuSecondsOf(server.processes.api.pid) - cpu0) * 1e3) / d.polls;
        lines.push(
          `${mode} deltas: ${d.polls} polls, ${d.failures} failed, p50 ${d.p50.toFixed(2)} ms p99 ${d.p99.toFixed(2)} ms max ${d.max.toFixed(1)} ms, API CPU ${cpu.toFixed(2)} ms/poll incl. writes (load ${load()})`,
        );
        log(lines.at(-1));
      }
    } finally {
      await server.stop();
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
