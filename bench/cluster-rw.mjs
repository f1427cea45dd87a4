#!/usr/bin/env node
// Read-your-writes and projection lag of the cluster under write load, measured on loopback:
// a worker and two API replicas (dist/, as in production) over a scratch PostgreSQL database and Redis;
// writers push alerts with one decision each to replica A and, as soon as each write is answered, ask
// replica B for that IP (it must already be there); a sampler reads the projection's lag behind the log.
//
//   npm run build && node bench/cluster-rw.mjs [--seconds 20] [--writers 8]
//   BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres: a database is created beside it)
//   BENCH_REDIS_URL    (default redis://127.0.0.1:6379; keys under a random prefix, deleted at the end)
import Redis from 'ioredis';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const SECONDS = arg('seconds', 20);
const WRITERS = arg('writers', 8);
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const UA = 'crowdsec/v1.4.6-6~deb12u1+b1-linux-debian';
const WAIT_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const quantile = (sorted, q) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : 0;
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const id = randomBytes(4).toString('hex');
const dbName = `lapi_bench_${id}`;
const prefix = `lapi-bench-${id}:`;
const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
const dbUrl = Object.assign(new URL(PG_URL), { pathname: `/${dbName}` }).toString();
const env = {
  ...process.env,
  DATABASE_URL: dbUrl,
  REDIS_URL,
  LAPI_REDIS_PREFIX: prefix,
  CS_LAPI_SECRET: randomBytes(48).toString('hex'),
  LAPI_LOG_LEVEL: 'warn',
};
const children = [];
const start = (entry, extra = {}) => {
  const child = spawn(process.execPath, [join(ROOT, entry)], {
    cwd: ROOT,
    env: { ...env, ...extra },
    stdio: 'inherit',
  });
  children.push(child);
  return child;
};
const lapi = (...args) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'lapi.js'), ...args], { cwd: ROOT, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`lapi ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

async function main() {
  await admin.unsafe(`create database ${dbName}`);
  lapi('migrate');
  lapi('machines', 'add', 'bench', '--password', 'bench-password-123');
  const key = lapi('bouncers', 'add', 'bench-bouncer', '-o', 'raw');
  start('dist/apps/worker/src/main.js');
  const ports = [await freePort(), await freePort()];
  const apis = ports.map((port) => start('dist/apps/api/src/main.js', { LAPI_LISTEN_URI: `127.0.0.1:${port}` }));
  const [a, b] = ports.map((p) => `http://127.0.0.1:${p}`);
  for (const url of [a, b]) {
    for (let i = 0; ; i++) {
      if (
        await fetch(`${url}/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (i > 300) throw new Error(`${url} did not start`);
      await sleep(100);
    }
  }
  const login = await fetch(`${a}/v1/watchers/login`, {
    method: 'POST',
    headers: { 'user-agent': UA },
    body: JSON.stringify({ machine_id: 'bench', password: 'bench-password-123' }),
  });
  const { token } = await login.json();

  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  const redis = new Redis(REDIS_URL);
  const lags = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const [xid, pos] = ((await redis.get(`${prefix}decisions:checkpoint`)) ?? '0:0').split(':');
      const [{ n }] = await sql`select count(*)::int as n from events
        where (transaction_id, global_position) > (${xid}::xid8, ${pos}::bigint)`;
      lags.push(n);
      await sleep(100);
    }
  })();

  const latencies = [];
  let invisible = 0;
  let failed = 0;
  let n = 0;
  const deadline = Date.now() + SECONDS * 1000;
  const writer = async () => {
    while (Date.now() < deadline) {
      const i = n++;
      const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const now = new Date().toISOString();
      const started = performance.now();
      const res = await fetch(`${a}/v1/alerts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'user-agent': UA },
        body: JSON.stringify([
          {
            capacity: 0,
            events: [],
            events_count: 1,
            leakspeed: '0',
            message: 'bench',
            scenario: 'bench',
            scenario_hash: '',
            scenario_version: '',
            simulated: false,
            start_at: now,
            stop_at: now,
            source: { scope: 'Ip', value: ip },
            decisions: [{ duration: '1h', origin: 'cscli', scenario: 'bench', scope: 'Ip', type: 'ban', value: ip }],
          },
        ]),
      });
      await res.arrayBuffer();
      if (res.status !== 201) {
        failed++;
        continue;
      }
      latencies.push(performance.now() - started);
      const seen = await fetch(`${b}/v1/decisions?ip=${ip}`, { headers: { 'x-api-key': key } }).then((r) => r.json());
      if (!seen) invisible++;
    }
  };
  await Promise.all(Array.from({ length: WRITERS }, writer));
  sampling = false;
  await sampler;

  // The replicas publish their waits every 5 s and when they stop.
  for (const api of apis) api.kill('SIGTERM');
  await Promise.all(apis.map((api) => new Promise((r) => (api.exitCode !== null ? r() : api.once('exit', r)))));
  const waits = Object.values(await redis.hgetall(`${prefix}stats:barrier`)).map((j) => JSON.parse(j));
  const merged = waits.reduce(
    (m, s) => ({
      waits: m.waits + s.waits,
      totalMs: m.totalMs + s.totalMs,
      maxMs: Math.max(m.maxMs, s.maxMs),
      timeouts: m.timeouts + s.timeouts,
      histogram: m.histogram.map((c, i) => c + (s.histogram[i] ?? 0)),
    }),
    { waits: 0, totalMs: 0, maxMs: 0, timeouts: 0, histogram: new Array(WAIT_BUCKETS_MS.length + 1).fill(0) },
  );
  const bucketQuantile = (q) => {
    let seen = 0;
    for (const [i, c] of merged.histogram.entries()) {
      seen += c;
      if (c > 0 && seen >= Math.ceil(q * merged.waits)) return WAIT_BUCKETS_MS[i] ?? Infinity;
    }
    return 0;
  };
  latencies.sort((x, y) => x - y);
  const sortedLags = [...lags].sort((x, y) => x - y);
  const f = (x) => x.toFixed(1);
  const rows = [
    [
      'writes answered 201',
      String(latencies.length),
      `${f(latencies.length / SECONDS)}/s, ${WRITERS} writers, ${failed} failed`,
    ],
    [
      'write latency (client) p50 / p99 / max',
      `${f(quantile(latencies, 0.5))} / ${f(quantile(latencies, 0.99))} / ${f(latencies.at(-1) ?? 0)} ms`,
      'includes the read-your-writes wait',
    ],
    [
      'read-your-writes wait mean / max',
      `${f(merged.waits ? merged.totalMs / merged.waits : 0)} / ${merged.maxMs} ms`,
      `${merged.waits} waits, ${merged.timeouts} past the 2 s bound`,
    ],
    [
      'read-your-writes wait p50 / p99 (bucket ≤)',
      `${bucketQuantile(0.5)} / ${bucketQuantile(0.99)} ms`,
      'histogram of the replicas',
    ],
    [
      'projection lag (events behind) mean / p99 / max',
      `${f(lags.reduce((s, x) => s + x, 0) / Math.max(1, lags.length))} / ${quantile(sortedLags, 0.99)} / ${sortedLags.at(-1) ?? 0}`,
      `${lags.length} samples every 100 ms`,
    ],
    ['writes not yet visible on the other replica', String(invisible), 'must be 0'],
  ];
  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
  console.log(
    `\ncluster read-your-writes, ${SECONDS} s, 1 worker + 2 API replicas on loopback (${new Date().toISOString()})`,
  );
  for (const r of rows) console.log(`  ${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2]}`);
  await sql.end();
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
}

try {
  await main();
} finally {
  for (const c of children) c.kill('SIGTERM');
  await sleep(1000);
  await admin.unsafe(`drop database if exists ${dbName} with (force)`).catch(() => {});
  await admin.end();
}
