#!/usr/bin/env node
// Idle stream polls (issue #12 item 5): 1,000 bouncers that already pulled everything poll again and again; prints
// the latency of those polls (p50/p99, 32 at a time) and the writes they made, per mode.
//
//   npm run build && node bench/idle-polls.mjs [--modes embedded,cluster] [--bouncers 1000] [--rounds 5]
//   BENCH_DATABASE_URL, BENCH_REDIS_URL as for npm run bench.
import { Agent } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startOurs } from './lib/servers.mjs';
import { get, pollEach, quantile } from './lib/workloads.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const option = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
};
const MODES = option('modes', 'embedded,cluster').split(',');
const BOUNCERS = Number(option('bouncers', 1000));
const ROUNDS = Number(option('rounds', 5));
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

for (const mode of MODES) {
  const server = await startOurs({ root: ROOT, mode, pgUrl: PG_URL, redisUrl: REDIS_URL, id: `idle${process.pid}` });
  try {
    const keys = await server.addBouncers(Array.from({ length: BOUNCERS }, (_, i) => `idle-${i}`));
    await pollEach(server, keys); // first pulls: everything
    await pollEach(server, keys); // and one delta each: from here on nothing is new
    const writes = await server.countWrites();
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const latencies = [];
    for (let round = 0; round < ROUNDS; round++) {
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < keys.length) {
            const key = keys[next++];
            const start = performance.now();
            const r = await get(`${server.url}/v1/decisions/stream`, { 'x-api-key': key }, { agent });
            latencies.push(performance.now() - start);
            if (r.status !== 200) throw new Error(`poll: ${r.status}`);
          }
        }),
      );
    }
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const written = await writes();
    console.log(
      JSON.stringify({
        mode,
        bouncers: BOUNCERS,
        polls: latencies.length,
        p50Ms: +quantile(latencies, 0.5).toFixed(2),
        p99Ms: +quantile(latencies, 0.99).toFixed(2),
        writes: written,
      }),
    );
  } finally {
    await server.stop();
  }
}
