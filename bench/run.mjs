#!/usr/bin/env node
// npm run bench: the same workloads against our LAPI in each of its modes (embedded, PostgreSQL alone, cluster) and
// against the reference CrowdSec 1.4.6 LAPI (Debian's crowdsec package, LAPI only) on SQLite and on PostgreSQL, one
// server after the other on this machine, everything on loopback; a bare node:http server gives the ceiling. Prints
// a table with a column per server and, for each target of issues #5 and #12, met or not per mode, and writes it
// with the machine's description to bench/results/latest.md (raw figures: latest.json). bench/README.md says what
// each workload, column and option is.
//
// It ends with the admin CLI's timings next to cscli's (bench/lib/cli-timings.mjs; alone: node bench/cli.mjs).
//
//   npm run bench [-- --modes embedded,postgres,cluster] [--references sqlite,postgres] [--skip-reference]
//                 [--sizes 10k,100k,1m] [--quick] [--seconds 10] [--bouncers 1000] [--delta-seconds 30]
//                 [--polls-seconds 65] [--import 100k] [--soak 30m] [--out FILE] [--plan]
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
import { MACHINE, OUR_MODES, REFERENCE_DATABASES, startBare, startOurs, startReference } from './lib/servers.mjs';
import {
  ceiling,
  concurrentStartups,
  ingestion,
  lookups,
  pollEach,
  pollsOnly,
  streamDeltas,
  streamStartup,
  untilAnswered,
} from './lib/workloads.mjs';

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
const list = (name, all) => {
  const picked = option(name, all.join(',')).split(',').filter(Boolean);
  const unknown = picked.filter((x) => !all.includes(x));
  if (unknown.length) throw new Error(`--${name}: unknown ${unknown.join(', ')} (${all.join(', ')})`);
  return all.filter((x) => picked.includes(x)); // always in the table's order
};
const MODES = list('modes', Object.keys(OUR_MODES));
const REFERENCES = flag('skip-reference') ? [] : list('references', Object.keys(REFERENCE_DATABASES));
const CONCURRENT_STARTUPS = 10;
// Longer than a minute: what polls write once a minute (a bouncer's last pull, LAST_PULL_RESOLUTION_MS; the idle
// positions' times outside a cluster) falls in the window whatever its phase.
const POLLS_SECONDS = Number(option('polls-seconds', 65));
const IDLE_SECONDS = 10;
// A PostgreSQL backend publishes its row counters up to 10 s after it wrote them (PGSTAT_IDLE_INTERVAL).
const STATS_SETTLE_MS = 11_000;
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = randomBytes(3).toString('hex');
const STREAM_TIMEOUT_MS = 180_000;
const mid = SIZES.find((n) => n >= 100_000) ?? SIZES[SIZES.length - 1];
const top = SIZES[SIZES.length - 1];

const log = (...a) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);

function prerequisites() {
  const missing = [];
  const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  if (!has('wrk')) missing.push('wrk (apt-get install wrk)');
  if (REFERENCES.length) {
    if (!existsSync(process.env.CROWDSEC_BIN ?? '/usr/bin/crowdsec'))
      missing.push(
        "crowdsec 1.4.6 (Debian: echo '# no CAPI' > /etc/crowdsec/online_api_credentials.yaml; apt-get install --no-install-recommends crowdsec), or --skip-reference",
      );
    if (!has('cscli')) missing.push('cscli (Debian package crowdsec)');
    if (REFERENCES.includes('sqlite') && !has('sqlite3'))
      missing.push('sqlite3 (Debian package sqlite3: counts the alerts the reference stored on SQLite)');
  }
  if (!existsSync(join(ROOT, 'dist/apps/api/src/main.js'))) missing.push('the build (npm run build)');
  if (missing.length) {
    process.stderr.write(`npm run bench needs:\n  ${missing.join('\n  ')}\n`);
    process.exit(2);
  }
}

/** The versions of the PostgreSQL and Redis servers the run needs (only those it needs are asked). */
async function services() {
  const versions = { postgres: 'n/a', redis: 'n/a' };
  if (MODES.some((m) => m !== 'embedded') || REFERENCES.includes('postgres')) {
    const sql = postgres(PG_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 });
    const [{ version }] = await sql`select current_setting('server_version') as version`.catch((e) => {
      throw new Error(`PostgreSQL at ${PG_URL}: ${e.message} (set BENCH_DATABASE_URL)`);
    });
    await sql.end();
    versions.postgres = version;
  }
  if (MODES.includes('cluster')) {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect().catch((e) => {
      throw new Error(`Redis at ${REDIS_URL}: ${e.message} (set BENCH_REDIS_URL)`);
    });
    const info = await redis.info('server');
    await redis.quit();
    versions.redis = /redis_version:(\S+)/.exec(info)?.[1];
  }
  return versions;
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

/** The IP of imported decision `j` (its own range: imports add to what is active). */
const importedIp = (j) => `${50 + (j >>> 16)}.${(j >>> 8) & 255}.${j & 255}.9`;

/** Writes `n` decisions for import, from imported decision `base` on. */
function importFile(n, base) {
  const dir = mkdtempSync(join(tmpdir(), 'lapi-bench-import-'));
  const lines = ['duration,scope,value,reason'];
  for (let i = 0; i < n; i++) lines.push(`24h,ip,${importedIp(base + i)},bench/import`);
  const path = join(dir, 'decisions.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

const peakMemory = (server) =>
  Object.fromEntries(Object.entries(server.processes).map(([name, p]) => [name, memoryOf(p.pid)]));

/** Every workload against one server; returns its figures. */
async function measure(server) {
  const r = { name: server.name, kind: server.kind, mode: server.mode, sizes: {}, seeding: [] };
  const token = await login(server.url);
  const [key, ...startupKeys] = await server.addBouncers([
    'bench-lookups',
    ...Array.from({ length: CONCURRENT_STARTUPS }, (_, i) => `bench-startup-${i}`),
  ]);
  let seeded = 0;
  for (const n of SIZES) {
    log(server.name, `seeding ${seeded} → ${n} decisions`);
    // SQLite takes one writer at a time: the reference answers 500 "database is locked" to parallel seeding.
    const seconds = await seed(server.url, token, seeded, n, { parallel: server.database === 'sqlite' ? 1 : 4 });
    r.seeding.push({ from: seeded, to: n, seconds, rate: (n - seeded) / seconds });
    seeded = n;
    const s = (r.sizes[n] = {});
    log(server.name, `lookups at ${n}`);
    // Until the last decision seeded is answered (our cluster replica catches up with what was written, the other
    // servers have it at once), then a warm-up, then the measured run.
    s.visibleAfter = await untilAnswered(server, key, decisionValue(n - 1).value.replace(/\/\d+$/, ''));
    await lookups(server, { n, key, seconds: 2, connections: 50 });
    s.lookups = await lookups(server, { n, key, seconds: SECONDS, connections: 50 });
    log(server.name, `stream startup at ${n}`);
    for (const gzip of [false, true]) {
      if (gzip && s.startup.error) {
        break; // a pull that timed out once is not asked again
      }
      try {
        s[gzip ? 'startupGzip' : 'startup'] = await streamStartup(server, key, { gzip, timeoutMs: STREAM_TIMEOUT_MS });
      } catch (error) {
        s[gzip ? 'startupGzip' : 'startup'] = { error: error.message };
      }
    }
    if (n === mid) {
      await laterWorkloads(server, r, token, key);
    }
    // The memory target's load: concurrent first pulls at the largest size (ours: the reference needs minutes each).
    if (n === top && server.kind === 'ours') {
      log(server.name, `${CONCURRENT_STARTUPS} concurrent startup pulls at ${n}`);
      s.concurrentStartups = await concurrentStartups(server, startupKeys, { timeoutMs: STREAM_TIMEOUT_MS });
    }
  }
  r.memory = peakMemory(server);
  r.active = seeded;
  return r;
}

/**
 * What the database wrote while bouncers polled with nothing new: each bouncer first pulls what is left, then (with
 * Redis) an idle window gives the Redis writes that happen anyway, then the polls. Redis writes are per second.
 */
async function pollWrites(server, keys) {
  await pollEach(server, keys);
  await sleep(STATS_SETTLE_MS);
  let redisIdle;
  if (server.mode === 'cluster') {
    const idleCount = await server.countWrites();
    await sleep(IDLE_SECONDS * 1000);
    redisIdle = (await idleCount()).redis.n / IDLE_SECONDS;
  }
  const count = await server.countWrites();
  const polls = await pollsOnly(server, { keys, seconds: POLLS_SECONDS });
  const redis = server.mode === 'cluster' ? (await count()).redis.n / POLLS_SECONDS : undefined;
  await sleep(STATS_SETTLE_MS);
  const { n, unit, detail } = await count();
  return { polls, seconds: POLLS_SECONDS, n, unit, detail, ...(redis === undefined ? {} : { redis, redisIdle }) };
}

/** Seconds from the start of an import until a bouncer lookup answers its last decision; the command's own time. */
async function timedImport(server, key, run, n, base) {
  const file = importFile(n, base);
  try {
    const t0 = performance.now();
    const error = run(file.path);
    const commandSeconds = (performance.now() - t0) / 1000;
    if (error) return { error: error.slice(0, 300) };
    const last = importedIp(base + n - 1);
    await untilAnswered(server, key, last, { intervalMs: 10 });
    const seconds = (performance.now() - t0) / 1000;
    return { seconds, commandSeconds, rate: n / seconds };
  } finally {
    file.remove();
  }
}

/** Deltas, polls alone, ingestion and imports, at the middle size. */
async function laterWorkloads(server, r, token, key) {
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
  log(server.name, `polls alone: what the database writes for polls with nothing new`);
  r.pollWrites = await pollWrites(server, keys);

  log(server.name, 'alert ingestion');
  const runId = Math.floor(Math.random() * 200);
  const ing = await ingestion(server, { token, seconds: SECONDS, connections: 16, runId });
  await sleep(1000);
  r.ingestion = {
    ...ing,
    accepted: ing.requests - ing.non2xx,
    stored: await server.countAlerts('bench/ingest', token),
  };

  log(server.name, `import of ${IMPORT_SIZE} decisions, the cscli way, until a bouncer sees the last one`);
  const cscli = cscliFor(server);
  r.importCscli = await timedImport(
    server,
    key,
    (path) => {
      const res = cscli(['decisions', 'import', '-i', path]);
      return res.status === 0 ? undefined : `${res.error?.message ?? ''}${res.stderr ?? ''}${res.stdout ?? ''}`;
    },
    IMPORT_SIZE,
    0,
  );
  if (server.kind === 'ours') {
    log(
      server.name,
      `import of ${IMPORT_SIZE} decisions with lapi decisions import, until a bouncer sees the last one`,
    );
    r.importLapi = await timedImport(
      server,
      key,
      (path) => {
        try {
          server.lapi('decisions', 'import', '-i', path);
          return undefined;
        } catch (error) {
          return error.message;
        }
      },
      IMPORT_SIZE,
      IMPORT_SIZE,
    );
  }
}

/** Lookups and startup pulls for `seconds` at the `active` decisions seeded; the API's RSS slope. */
async function soak(server, seconds, active) {
  log(server.name, `soak for ${seconds} s`);
  const [key] = await server.addBouncers(['bench-soak']);
  const samples = [];
  const started = performance.now();
  const sampler = setInterval(
    () => samples.push({ t: (performance.now() - started) / 1000, rss: memoryOf(server.processes.api.pid).rss }),
    10_000,
  );
  while ((performance.now() - started) / 1000 < seconds) {
    await lookups(server, { n: active, key, seconds: 20, connections: 20 });
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

/**
 * A rough forecast of the run (seconds), from the figures of the 2-core reference machine: seeding rates, pull
 * times per million decisions, the fixed windows of each workload.
 */
function expectedSeconds() {
  const server = (kind, mode) => {
    const ours = kind === 'ours';
    const seedRate = ours ? 10_000 : mode === 'sqlite' ? 4_000 : 7_000;
    const pullPerMillion = ours ? 6 : 60;
    let t = 15; // start, migrate, stop
    for (const n of SIZES) {
      t += n / seedRate + 2 + SECONDS + 2 + (pullPerMillion * n) / 1e6 + (mode === 'cluster' ? n / 80_000 : 0);
    }
    if (ours) t += (top / 1e6) * pullPerMillion * 3; // concurrent startups
    t += ours ? 5 : 60; // 1,000 bouncers
    t += DELTA_SECONDS + (ours ? 5 : 120); // deltas (the reference's polls take minutes)
    t += (ours ? 2 : 30) + STATS_SETTLE_MS / 500 + POLLS_SECONDS + (mode === 'cluster' ? IDLE_SECONDS : 0); // polls alone
    t += SECONDS + 2 + (IMPORT_SIZE / (ours ? 8_000 : 4_500)) * (ours ? 2 : 1); // ingestion, imports
    t += ours ? 40 : 20; // CLI timings
    return t + (ours ? SOAK : 0);
  };
  return (
    SECONDS +
    5 +
    MODES.reduce((a, m) => a + server('ours', m), 0) +
    REFERENCES.reduce((a, d) => a + server('reference', d), 0)
  );
}

async function main() {
  if (flag('plan')) {
    process.stdout.write(
      `ours: ${MODES.join(', ') || 'none'}; reference: ${REFERENCES.join(', ') || 'none'}; sizes ${SIZES.join(', ')}` +
        `; expected about ${Math.ceil(expectedSeconds() / 60)} min on an idle 2-core machine\n`,
    );
    return;
  }
  prerequisites();
  const m = machine(await services());
  log(`machine: ${m.cpu}, ${m.memory}, load ${m.loadAtStart}`);
  log(
    `ours: ${MODES.join(', ') || 'none'}; reference: ${REFERENCES.join(', ') || 'none'}; sizes ${SIZES.join(', ')}` +
      `; expected about ${Math.ceil(expectedSeconds() / 60)} min on an idle 2-core machine`,
  );
  const results = {
    machine: m,
    options: {
      sizes: SIZES,
      seconds: SECONDS,
      bouncers: BOUNCERS,
      deltaSeconds: DELTA_SECONDS,
      importSize: IMPORT_SIZE,
      concurrentStartups: CONCURRENT_STARTUPS,
      pollsSeconds: POLLS_SECONDS,
      idleSeconds: IDLE_SECONDS,
      modes: MODES,
      references: REFERENCES,
    },
    servers: [],
    cli: [],
  };

  const bare = await startBare();
  try {
    log('bare node:http ceiling');
    results.bare = await ceiling(bare, { seconds: SECONDS, connections: 50 });
  } finally {
    await bare.stop();
  }

  const runs = [
    ...MODES.map(
      (mode) => () => startOurs({ root: ROOT, mode, pgUrl: PG_URL, redisUrl: REDIS_URL, id: `${RUN}${mode[0]}` }),
    ),
    ...REFERENCES.map(
      (database) => () =>
        startReference({
          database,
          pgUrl: PG_URL,
          id: RUN,
          crowdsecBin: process.env.CROWDSEC_BIN ?? '/usr/bin/crowdsec',
        }),
    ),
  ];
  for (const start of runs) {
    const server = await start();
    try {
      const r = await measure(server);
      results.servers.push(r);
      results.cli.push(cliTimings(cliOf(server, ROOT), { log }));
      if (SOAK && server.kind === 'ours') r.soak = await soak(server, SOAK, r.active);
    } catch (error) {
      // One server failing does not lose the others' figures: it is left out of the table, and said so.
      log(server.name, `failed, left out of the report: ${error.stack ?? error}`);
      results.failed = [...(results.failed ?? []), { name: server.name, error: String(error.message ?? error) }];
    } finally {
      await server.stop();
    }
  }

  const failures = (results.failed ?? []).map((f) => `- ${f.name} failed and is left out: ${f.error}`).join('\n');
  const report = `${formatReport(results)}\n\n${failures ? `${failures}\n\n` : ''}${formatCliReport(results.cli)}`;
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
