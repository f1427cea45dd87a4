#!/usr/bin/env node
// npm run bench: the same workloads against our LAPI (cluster mode, and embedded) and the reference CrowdSec 1.4.6
// LAPI (Debian's crowdsec package, LAPI only, on PostgreSQL), one after the other on this machine, everything on
// loopback; a bare node:http server gives the ceiling. Prints a table of both figures and their ratio and writes it
// with the machine's description to bench/results/latest.md (and a dated copy).
//
// It ends with the admin CLI's timings next to cscli's (bench/lib/cli-timings.mjs; alone: node bench/cli.mjs).
//
//   npm run bench [-- --sizes 10k,100k,1m] [--quick] [--seconds 10] [--bouncers 1000] [--soak 30m]
//                 [--skip-reference] [--skip-embedded] [--out FILE]
//   BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres: scratch databases are created beside it)
//   BENCH_REDIS_URL    (default redis://127.0.0.1:6379: keys under a random prefix, deleted at the end)
import Redis from 'ioredis';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { cliOf, cliTimings, formatCliReport } from './lib/cli-timings.mjs';
import { decisionValue, login, seed } from './lib/dataset.mjs';
import { killAll, memoryOf, sleep } from './lib/proc.mjs';
import { formatReport } from './lib/report.mjs';
import { MACHINE, startBare, startOurs, startReference, tupleWrites } from './lib/servers.mjs';
import { ceiling, ingestion, lookups, pollsOnly, streamDeltas, streamStartup } from './lib/workloads.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1];
};
const count = (text) => {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text}`);
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, m: 1e6 }[m[2].toLowerCase()]);
};
const duration = (text) => {
  const m = /^(\d+)(s|m|h)$/.exec(text ?? '');
  if (!m) throw new Error(`not a duration: ${text} (e.g. 30m)`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2]];
};

const QUICK = flag('quick');
const SIZES = option('sizes', QUICK ? '10k,100k' : '10k,100k,1m')
  .split(',')
  .map(count);
const SECONDS = Number(option('seconds', QUICK ? 5 : 10));
const BOUNCERS = Number(option('bouncers', QUICK ? 200 : 1000));
const DELTA_SECONDS = Number(option('delta-seconds', QUICK ? 15 : 30));
const IMPORT_SIZE = count(option('import', QUICK ? '20k' : '100k'));
const SOAK = option('soak') ? duration(option('soak')) : 0;
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = randomBytes(3).toString('hex');
const STREAM_TIMEOUT_MS = 180_000;
const mid = SIZES.find((n) => n >= 100_000) ?? SIZES[SIZES.length - 1];

const log = (...a) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);

function prerequisites() {
  const missing = [];
  const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  if (!has('wrk')) missing.push('wrk (apt-get install wrk)');
  if (!flag('skip-reference')) {
    if (!existsSync(process.env.CROWDSEC_BIN ?? '/usr/bin/crowdsec'))
      missing.push(
        "crowdsec 1.4.6 (Debian: echo '# no CAPI' > /etc/crowdsec/online_api_credentials.yaml; apt-get install --no-install-recommends crowdsec), or --skip-reference",
      );
    if (!has('cscli')) missing.push('cscli (Debian package crowdsec)');
  }
  if (!existsSync(join(ROOT, 'dist/apps/api/src/main.js'))) missing.push('the build (npm run build)');
  if (missing.length) {
    process.stderr.write(`npm run bench needs:\n  ${missing.join('\n  ')}\n`);
    process.exit(2);
  }
}

async function services() {
  const sql = postgres(PG_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  const [{ version }] = await sql`select current_setting('server_version') as version`.catch((e) => {
    throw new Error(`PostgreSQL at ${PG_URL}: ${e.message} (set BENCH_DATABASE_URL)`);
  });
  await sql.end();
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect().catch((e) => {
    throw new Error(`Redis at ${REDIS_URL}: ${e.message} (set BENCH_REDIS_URL)`);
  });
  const info = await redis.info('server');
  await redis.quit();
  return { postgres: version, redis: /redis_version:(\S+)/.exec(info)?.[1] };
}

function machine(versions) {
  const cs = spawnSync('crowdsec', ['-version'], { encoding: 'utf8' });
  const wrkVersion = spawnSync('wrk', ['-v'], { encoding: 'utf8' });
  return {
    cpu: `${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}`,
    memory: `${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: release(),
    node: process.version,
    postgres: versions.postgres,
    redis: versions.redis,
    reference: /version:\s*(\S+)/.exec(`${cs.stdout}${cs.stderr}`)?.[1] ?? 'n/a',
    wrk: /wrk (\S+)/.exec(`${wrkVersion.stdout}${wrkVersion.stderr}`)?.[1] ?? 'wrk',
    loadAtStart: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    date: new Date().toISOString(),
    commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim(),
  };
}

/** The count of rows a query returns from a server's database (alerts, decisions of a run). */
async function countRows(dbUrl, query) {
  const sql = postgres(dbUrl, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql.unsafe(query);
    return Number(row.n);
  } finally {
    await sql.end();
  }
}

/** A cscli whose credentials point at a server (for `cscli decisions import`, the cscli way). */
function cscliFor(server) {
  if (server.kind === 'reference')
    return (args) =>
      spawnSync('cscli', ['-c', server.config, ...args], {
        encoding: 'utf8',
        env: { ...process.env, PGSSLMODE: 'disable' },
      });
  const dir = mkdtempSync(join(tmpdir(), 'lapi-bench-cscli-'));
  writeFileSync(join(dir, 'creds.yaml'), `url: ${server.url}\nlogin: ${MACHINE.id}\npassword: ${MACHINE.password}\n`);
  writeFileSync(join(dir, 'simulation.yaml'), 'simulation: false\n');
  mkdirSync(join(dir, 'hub'));
  writeFileSync(join(dir, 'hub', '.index.json'), '{"scenarios":{}}\n');
  writeFileSync(
    join(dir, 'config.yaml'),
    `common:\n  log_media: stdout\n  log_level: warning\nconfig_paths:\n  config_dir: ${dir}\n  data_dir: ${dir}\n  hub_dir: ${dir}/hub\n  index_path: ${dir}/hub/.index.json\n  simulation_path: ${dir}/simulation.yaml\ncscli:\n  output: human\n  color: "no"\ndb_config:\n  type: sqlite\n  db_path: ${dir}/unused.db\napi:\n  client:\n    credentials_path: ${dir}/creds.yaml\n`,
  );
  return (args) => spawnSync('cscli', ['-c', join(dir, 'config.yaml'), ...args], { encoding: 'utf8' });
}

/** Writes `n` decisions for import (values from their own range: they add to what is active). */
function importFile(n, base) {
  const dir = mkdtempSync(join(tmpdir(), 'lapi-bench-import-'));
  const lines = ['duration,scope,value,reason'];
  for (let i = 0; i < n; i++) {
    const j = base + i;
    lines.push(`24h,ip,${50 + (j >>> 16)}.${(j >>> 8) & 255}.${j & 255}.9,bench/import`);
  }
  const path = join(dir, 'decisions.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const peakMemory = (server) =>
  Object.fromEntries(Object.entries(server.processes).map(([name, p]) => [name, memoryOf(p.pid)]));

/** Seconds until a lookup of `value` finds it. */
async function waitVisible(server, key, value) {
  const started = performance.now();
  const ip = value.replace(/\/\d+$/, '');
  for (;;) {
    const res = await fetch(`${server.url}/v1/decisions?ip=${ip}`, { headers: { 'x-api-key': key } }).catch(
      () => undefined,
    );
    if (res?.ok && (await res.text()) !== 'null') {
      return (performance.now() - started) / 1000;
    }
    if (performance.now() - started > 600_000) throw new Error(`${server.name}: ${value} not visible after 600 s`);
    await sleep(200);
  }
}

/** Every workload against one server; returns its figures. */
async function measure(server, { sizes, full }) {
  const r = { name: server.name, sizes: {}, seeding: [] };
  const token = await login(server.url);
  const [key] = await server.addBouncers(['bench-lookups']);
  let seeded = 0;
  for (const n of sizes) {
    log(server.name, `seeding ${seeded} → ${n} decisions`);
    const seconds = await seed(server.url, token, seeded, n);
    r.seeding.push({ from: seeded, to: n, seconds, rate: (n - seeded) / seconds });
    seeded = n;
    const s = (r.sizes[n] = {});
    log(server.name, `lookups at ${n}`);
    // Until the last decision seeded is answered (our replica catches up with what was written, the reference has
    // it at once), then a warm-up, then the measured run.
    s.visibleAfter = await waitVisible(server, key, decisionValue(n - 1).value);
    await lookups(server, { n, key, seconds: 2, connections: 50 });
    s.lookups = await lookups(server, { n, key, seconds: SECONDS, connections: 50 });
    if (n >= 100_000) {
      log(server.name, `stream startup at ${n}`);
      for (const gzip of [false, true]) {
        if (gzip && s.startup.error) {
          break; // a pull that timed out once is not asked again
        }
        try {
          s[gzip ? 'startupGzip' : 'startup'] = await streamStartup(server, key, {
            gzip,
            timeoutMs: STREAM_TIMEOUT_MS,
          });
        } catch (error) {
          s[gzip ? 'startupGzip' : 'startup'] = { error: error.message };
        }
      }
    }
    if (full && n === mid) {
      await laterWorkloads(server, r, token, n);
    }
  }
  r.memory = peakMemory(server);
  r.active = seeded;
  return r;
}

/** Deltas, ingestion and imports, at the middle size. */
async function laterWorkloads(server, r, token, n) {
  log(server.name, `adding ${BOUNCERS} bouncers`);
  const keys = await server.addBouncers(Array.from({ length: BOUNCERS }, (_, i) => `bench-poller-${i}`));
  log(server.name, `stream deltas: ${BOUNCERS} bouncers every 10 s, 50 changes/s, ${DELTA_SECONDS} s`);
  r.deltas = await streamDeltas(server, {
    keys,
    token,
    seconds: DELTA_SECONDS,
    intervalSeconds: 10,
    rate: 50,
    base: 2_000_000,
  });
  // Polls alone: the rows the database wrote meanwhile (ours: none; the reference records each pull).
  await sleep(1500);
  const before = await tupleWrites(server.dbUrl);
  const polls = await pollsOnly(server, { keys, seconds: 10 });
  await sleep(1500);
  r.pollWrites = { polls, rows: (await tupleWrites(server.dbUrl)) - before };

  log(server.name, 'alert ingestion');
  const runId = Math.floor(Math.random() * 200);
  const ing = await ingestion(server, { token, seconds: SECONDS, connections: 16, runId });
  await sleep(1000);
  const stored = await countRows(server.dbUrl, "select count(*) as n from alerts where scenario = 'bench/ingest'");
  r.ingestion = { ...ing, accepted: ing.requests - ing.non2xx, stored };

  log(server.name, `import of ${IMPORT_SIZE} decisions, the cscli way`);
  const cscli = cscliFor(server);
  const file = importFile(IMPORT_SIZE, 0);
  const t0 = performance.now();
  const res = cscli(['decisions', 'import', '-i', file.path]);
  const cscliSeconds = (performance.now() - t0) / 1000;
  if (res.status !== 0) r.importCscli = { error: `${res.stderr}${res.stdout}`.slice(0, 300) };
  else r.importCscli = { seconds: cscliSeconds, rate: IMPORT_SIZE / cscliSeconds };
  file.remove();
  if (server.kind === 'ours') {
    log(server.name, `import of ${IMPORT_SIZE} decisions with lapi decisions import`);
    const file2 = importFile(IMPORT_SIZE, IMPORT_SIZE);
    const t1 = performance.now();
    try {
      server.lapi('decisions', 'import', '-i', file2.path);
      const seconds = (performance.now() - t1) / 1000;
      r.importLapi = { seconds, rate: IMPORT_SIZE / seconds };
    } catch (error) {
      r.importLapi = { error: error.message.slice(0, 300) };
    }
    file2.remove();
  }
}

async function soak(server, seconds) {
  log(server.name, `soak for ${seconds} s`);
  const token = await login(server.url);
  const [key] = await server.addBouncers(['bench-soak']);
  const samples = [];
  const started = performance.now();
  const sampler = setInterval(
    () => samples.push({ t: (performance.now() - started) / 1000, rss: memoryOf(server.processes.api.pid).rss }),
    10_000,
  );
  while ((performance.now() - started) / 1000 < seconds) {
    await lookups(server, { n: 1_000_000, key, seconds: 20, connections: 20 });
    await streamStartup(server, key, { gzip: true, timeoutMs: STREAM_TIMEOUT_MS });
  }
  clearInterval(sampler);
  const n = samples.length;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const mr = samples.reduce((a, s) => a + s.rss, 0) / n;
  const slope =
    samples.reduce((a, s) => a + (s.t - mt) * (s.rss - mr), 0) / samples.reduce((a, s) => a + (s.t - mt) ** 2, 0);
  return {
    samples: n,
    seconds,
    first: samples[0]?.rss,
    last: samples[n - 1]?.rss,
    max: Math.max(...samples.map((s) => s.rss)),
    slopeMBPerHour: (slope * 3600) / 2 ** 20,
  };
}

async function main() {
  prerequisites();
  const m = machine(await services());
  log(`machine: ${m.cpu}, ${m.memory}, load ${m.loadAtStart}; sizes ${SIZES.join(', ')}`);
  const results = {
    machine: m,
    options: {
      sizes: SIZES,
      seconds: SECONDS,
      bouncers: BOUNCERS,
      deltaSeconds: DELTA_SECONDS,
      importSize: IMPORT_SIZE,
    },
    cli: [],
  };

  const bare = await startBare();
  try {
    log('bare node:http ceiling');
    results.bare = await ceiling(bare, { seconds: SECONDS, connections: 50 });
  } finally {
    await bare.stop();
  }

  const ours = await startOurs({ root: ROOT, mode: 'cluster', pgUrl: PG_URL, redisUrl: REDIS_URL, id: `${RUN}c` });
  try {
    results.ours = await measure(ours, { sizes: SIZES, full: true });
    results.cli.push(cliTimings(cliOf(ours, ROOT), { log }));
    if (SOAK) results.soak = await soak(ours, SOAK);
  } finally {
    await ours.stop();
  }

  if (!flag('skip-reference')) {
    const ref = await startReference({
      pgUrl: PG_URL,
      id: RUN,
      crowdsecBin: process.env.CROWDSEC_BIN ?? '/usr/bin/crowdsec',
    });
    try {
      results.reference = await measure(ref, { sizes: SIZES, full: true });
      results.cli.push(cliTimings(cliOf(ref, ROOT), { log }));
    } finally {
      await ref.stop();
    }
  }

  if (!flag('skip-embedded')) {
    const embeddedSizes = SIZES.filter((n) => n <= 100_000);
    const emb = await startOurs({ root: ROOT, mode: 'embedded', id: `${RUN}e` });
    try {
      results.embedded = await measure(emb, { sizes: embeddedSizes, full: false });
      results.cli.unshift(cliTimings(cliOf(emb, ROOT), { log }));
    } finally {
      await emb.stop();
    }
  }

  const report = `${formatReport(results)}\n\n${formatCliReport(results.cli)}`;
  process.stdout.write(`${report}\n`);
  const out = option('out', join(ROOT, 'bench', 'results', 'latest.md'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${report}\n`);
  writeFileSync(out.replace(/\.md$/, '.json'), `${JSON.stringify(results, null, 2)}\n`);
  log(`written: ${out}`);
}

const abort = (error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  killAll();
  process.exit(1);
};
process.on('SIGINT', () => abort(new Error('interrupted')));
main().catch(abort);
