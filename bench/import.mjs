// Imports end to end: how many decisions per second from `cscli decisions import` / `lapi decisions import` starting
// until a bouncer's lookup of the file's last value answers it, with N decisions already active.
// Starts the built server (npm run build first) in each mode on scratch data, seeds it through POST /v1/alerts,
// then imports a csv file of new values each way, polling GET /v1/decisions?ip=<last value> every 20 ms meanwhile.
// Also prints the longest /health answer during each import (the event loop must stay free), and the CPU seconds
// each part used meanwhile (API, worker, the import command, the PostgreSQL backends of the server's database):
// on a shared machine the wall time moves with the other load, the CPU time much less.
//
//   node bench/import.mjs [--modes embedded,postgres,cluster] [--seed 100k] [--size 100k] [--via cscli,lapi]
//   BENCH_API_NODE_ARGS / BENCH_WORKER_NODE_ARGS / BENCH_CLI_NODE_ARGS="--cpu-prof --cpu-prof-dir=prof": profiles.
//   BENCH_DATABASE_URL, BENCH_REDIS_URL as for npm run bench.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { login, seed } from './lib/dataset.mjs';
import { cpuSecondsOf, killAll, sleep } from './lib/proc.mjs';
import { MACHINE, startOurs } from './lib/servers.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i === -1 ? fallback : argv[i + 1];
};
const count = (text) => {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text}`);
  return Math.round(Number(m[1]) * { '': 1, k: 1e3, m: 1e6 }[m[2].toLowerCase()]);
};
const MODES = option('modes', 'embedded,postgres,cluster').split(',');
const SEED = count(option('seed', '100k'));
const SIZE = count(option('size', '100k'));
const VIA = option('via', 'cscli,lapi').split(',');
const PG_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUN = randomBytes(3).toString('hex');
const log = (...a) => process.stderr.write(`[import ${new Date().toISOString().slice(11, 19)}] ${a.join(' ')}\n`);

/** The file's i-th value: its own range, apart from the seeded decisions (11.x, 100.x). */
const importedIp = (j) => `${50 + (j >>> 16)}.${(j >>> 8) & 255}.${j & 255}.9`;

function importFile(n, base) {
  const dir = mkdtempSync(join(tmpdir(), 'lapi-bench-import-'));
  const lines = ['duration,scope,value,reason'];
  for (let i = 0; i < n; i++) lines.push(`24h,ip,${importedIp(base + i)},bench/import`);
  const path = join(dir, 'decisions.csv');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { path, last: importedIp(base + n - 1), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A cscli 1.4.6 configuration whose credentials point at our server (its database section is unused). */
function cscliFor(server) {
  const dir = mkdtempSync(join(tmpdir(), 'lapi-bench-cscli-'));
  writeFileSync(join(dir, 'creds.yaml'), `url: ${server.url}\nlogin: ${MACHINE.id}\npassword: ${MACHINE.password}\n`);
  writeFileSync(join(dir, 'simulation.yaml'), 'simulation: false\n');
  mkdirSync(join(dir, 'hub'));
  writeFileSync(join(dir, 'hub', '.index.json'), '{"scenarios":{}}\n');
  writeFileSync(
    join(dir, 'config.yaml'),
    `common:\n  log_media: stdout\n  log_level: warning\nconfig_paths:\n  config_dir: ${dir}\n  data_dir: ${dir}\n  hub_dir: ${dir}/hub\n  index_path: ${dir}/hub/.index.json\n  simulation_path: ${dir}/simulation.yaml\ncscli:\n  output: human\n  color: "no"\ndb_config:\n  type: sqlite\n  db_path: ${dir}/unused.db\napi:\n  client:\n    credentials_path: ${dir}/creds.yaml\n`,
  );
  return {
    command: 'cscli',
    args: ['-c', join(dir, 'config.yaml')],
    env: process.env,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function lapiFor(server) {
  const nodeArgs = (process.env.BENCH_CLI_NODE_ARGS ?? '').split(' ').filter(Boolean);
  return { command: process.execPath, args: [...nodeArgs, join(ROOT, 'bin', 'lapi.js')], env: server.env, remove() {} };
}

const run = ({ command, args, env }) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.once('exit', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')}: exit ${code}\n${output}`)),
    );
  });

/** CPU seconds of the children this process has waited for (the import command, once it exited). */
const reapedChildrenCpu = () => {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
};

/**
 * CPU seconds used so far by each part of the server: its processes and, on PostgreSQL, the backends serving its
 * database. Unlike the wall time, it hardly moves with what else the machine runs.
 */
async function cpuOf(server) {
  const parts = Object.fromEntries(Object.entries(server.processes).map(([n, p]) => [n, cpuSecondsOf(p.pid)]));
  parts.command = reapedChildrenCpu();
  if (server.dbUrl) {
    const name = new URL(server.dbUrl).pathname.slice(1);
    const sql = postgres(PG_URL, { max: 1, onnotice: () => {} });
    const pids = await sql`select pid from pg_stat_activity where datname = ${name}`;
    await sql.end();
    parts.postgres = Object.fromEntries(pids.map(({ pid }) => [pid, cpuSecondsOf(pid)]));
  }
  return parts;
}

const cpuSpent = (before, after) => {
  const spent = {};
  for (const [k, v] of Object.entries(after)) {
    spent[k] =
      k === 'postgres'
        ? Object.entries(v).reduce((sum, [pid, s]) => sum + s - (before.postgres?.[pid] ?? 0), 0)
        : v - (before[k] ?? 0);
    spent[k] = +spent[k].toFixed(2);
  }
  return spent;
};

/** Times one import: from the command's start until a bouncer sees the last value; the worst /health meanwhile. */
async function timeImport(server, key, cli, file) {
  const cpuBefore = await cpuOf(server);
  const started = performance.now();
  let done = false;
  let commandSeconds;
  const command = run({ ...cli, args: [...cli.args, 'decisions', 'import', '-i', file.path] }).then((out) => {
    commandSeconds = (performance.now() - started) / 1000;
    return out;
  });
  command.catch(() => (done = true));
  let worstHealthMs = 0;
  const health = (async () => {
    while (!done) {
      const t = performance.now();
      await fetch(`${server.url}/health`).then((r) => r.text());
      worstHealthMs = Math.max(worstHealthMs, performance.now() - t);
      await sleep(20);
    }
  })();
  const visible = (async () => {
    for (;;) {
      const res = await fetch(`${server.url}/v1/decisions?ip=${file.last}`, { headers: { 'x-api-key': key } });
      const text = await res.text();
      if (res.ok && text !== 'null') return (performance.now() - started) / 1000;
      if (done) return undefined;
      if (performance.now() - started > 600_000) throw new Error(`${file.last} not visible after 600 s`);
      await sleep(20);
    }
  })();
  const seconds = await Promise.race([visible, command.then(() => visible)]);
  const output = await command;
  done = true;
  await health;
  const cpu = cpuSpent(cpuBefore, await cpuOf(server));
  return {
    seconds: +seconds.toFixed(2),
    rate: Math.round(SIZE / seconds),
    commandSeconds: +commandSeconds.toFixed(2),
    worstHealthMs: Math.round(worstHealthMs),
    cpu,
    output: output.trim().split('\n').pop(),
  };
}

async function main() {
  log(`modes ${MODES.join(', ')}; ${SEED} decisions seeded, ${SIZE} imported; load ${loadavg()[0].toFixed(2)}`);
  const results = [];
  for (const mode of MODES) {
    const server = await startOurs({ root: ROOT, mode, pgUrl: PG_URL, redisUrl: REDIS_URL, id: `${RUN}${mode[0]}` });
    try {
      const [key] = await server.addBouncers(['bench-import']);
      if (SEED > 0) {
        const s = await seed(server.url, await login(server.url), 0, SEED);
        log(mode, `seeded ${SEED} in ${s.toFixed(1)} s`);
      }
      for (const [i, via] of VIA.entries()) {
        const file = importFile(SIZE, i * SIZE);
        const cli = via === 'cscli' ? cscliFor(server) : lapiFor(server);
        try {
          const r = await timeImport(server, key, cli, file);
          log(
            mode,
            `${via}: ${r.rate} decisions/s (${r.seconds} s; command ${r.commandSeconds} s; worst /health ${r.worstHealthMs} ms; CPU s ${JSON.stringify(r.cpu)})`,
          );
          results.push({ mode, via, ...r });
        } finally {
          file.remove();
          cli.remove();
        }
      }
    } finally {
      await server.stop();
    }
  }
  process.stdout.write(`${JSON.stringify({ seed: SEED, size: SIZE, loadAtEnd: loadavg()[0], results }, null, 1)}\n`);
}

const abort = (error) => {
  process.stderr.write(`${error?.stack ?? error}\n`);
  killAll();
  process.exit(1);
};
process.on('SIGINT', () => abort(new Error('interrupted')));
main().catch(abort);
