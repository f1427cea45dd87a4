// Startup pulls against the embedded server (or PostgreSQL-only with DATABASE_URL): seeds N decisions, then times
// GET /v1/decisions/stream?startup=true (identity and gzip), alone and 10 at once (half gzip), and reports the server's RSS
// (peak, and after full collections: heap, buffers, PGlite's WebAssembly memory; see lib/memory-probe.mjs).
//   npm run build && node bench/startup.mjs [decisions=100000]   CPU_PROF=1 writes a V8 profile of the server to ./prof
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { seed } from './lib/dataset.mjs';
import { MACHINE } from './lib/servers.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const COUNT = Number(process.argv[2] ?? 100_000);
const PORT = 18000 + Math.floor(Math.random() * 1000);
const URL = `http://127.0.0.1:${PORT}`;
const dataDir = mkdtempSync(join(tmpdir(), 'lapi-startup-'));
const METRICS = `127.0.0.1:${PORT + 1000}`;
const env = {
  ...process.env,
  LAPI_DATA_DIR: dataDir,
  LAPI_LISTEN_URI: `127.0.0.1:${PORT}`,
  LAPI_LOG_LEVEL: 'warn',
  LAPI_METRICS_LISTEN_URI: METRICS,
};
if (!process.env.DATABASE_URL) delete env.DATABASE_URL;
delete env.REDIS_URL;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const prof = process.env.CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'prof')}`] : [];
// The server's memory at its peak and after full collections (SIGUSR2): see lib/memory-probe.mjs.
const probeOut = join(dataDir, 'memory-probe.json');
const server = spawn(
  process.execPath,
  [
    ...prof,
    '--expose-gc',
    '--import',
    join(ROOT, 'bench/lib/memory-probe.mjs'),
    join(ROOT, 'dist/apps/api/src/main.js'),
  ],
  { env: { ...env, MEMORY_PROBE_OUT: probeOut }, stdio: 'inherit' },
);
const settle = async () => {
  server.kill('SIGUSR2');
  await sleep(1000);
};
const status = (field) =>
  Math.round(
    Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024,
  );
const rss = () => status('VmHWM');

/** The server's biggest mappings by resident size (MB): the V8 heap, PGlite's WebAssembly memory, buffers. */
const heap = async () => {
  const text = readFileSync(`/proc/${server.pid}/smaps`, 'utf8');
  const maps = text.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/).map((m) => ({
    sizeMB: Math.round(Number(/^Size:\s+(\d+)/m.exec(m)?.[1]) / 1024),
    rssMB: Math.round(Number(/^Rss:\s+(\d+)/m.exec(m)?.[1]) / 1024),
  }));
  return { rssNowMB: status('VmRSS'), biggestMappings: maps.sort((a, b) => b.rssMB - a.rssMB).slice(0, 4) };
};

/** One pull: ms until the whole body arrived, and its size. */
const pull = (key, gzip) =>
  new Promise((resolvePull, rejectPull) => {
    const started = performance.now();
    const req = request(`${URL}/v1/decisions/stream?startup=true`, {
      headers: { 'x-api-key': key, ...(gzip ? { 'accept-encoding': 'gzip' } : {}) },
    });
    req.once('response', (res) => {
      let bytes = 0;
      res.on('data', (chunk) => (bytes += chunk.length));
      res.once('end', () =>
        res.statusCode === 200
          ? resolvePull({ ms: performance.now() - started, bytes })
          : rejectPull(new Error(`pull: ${res.statusCode}`)),
      );
    });
    req.once('error', rejectPull);
    req.end();
  });

const out = {};
try {
  for (let i = 0; ; i++) {
    if (
      await fetch(`${URL}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 300) throw new Error('server did not start');
    await sleep(200);
  }
  const cli = (...args) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/lapi.js'), ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lapi ${args.join(' ')}: ${r.stderr}`);
  };
  cli('machines', 'add', MACHINE.id, '--password', MACHINE.password);
  const keys = Array.from({ length: 10 }, (_, i) => `startup-bench-key-${String(i).padStart(4, '0')}-abcdef`);
  keys.forEach((key, i) => cli('bouncers', 'add', `startup-${i}`, '--key', key));
  const login = await fetch(`${URL}/v1/watchers/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'crowdsec/v1.4.6' },
    body: JSON.stringify({ machine_id: MACHINE.id, password: MACHINE.password, scenarios: [] }),
  }).then((r) => r.json());
  const seconds = await seed(URL, login.token, 0, COUNT, { perAlert: 1000, parallel: 4 });
  Object.assign(out, {
    decisions: COUNT,
    seedPerSecond: Math.round(COUNT / seconds),
    rssAfterSeedMB: rss(),
    ...(await heap()),
  });
  await sleep(3000); // the projection settles; and a CPU profile shows the pulls after this pause
  await settle(); // the live memory after seeding
  for (const gzip of [false, true]) {
    const times = [];
    let bytes = 0;
    for (let i = 0; i < 3; i++) {
      const r = await pull(keys[i], gzip);
      times.push(Math.round(r.ms));
      bytes = r.bytes;
    }
    out[gzip ? 'gzip' : 'identity'] = { ms: times, MB: +(bytes / 1e6).toFixed(1) };
  }
  const started = performance.now();
  await Promise.all(keys.map((k, i) => pull(k, i % 2 === 1))); // half gzip, as Go bouncers ask
  out.tenAtOnceMs = Math.round(performance.now() - started);
  out.peakRssMB = rss();
  await settle(); // and after the pulls
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  try {
    Object.assign(out, { probe: JSON.parse(readFileSync(probeOut, 'utf8')) });
  } catch {
    // the server did not get to write it
  }
  console.log(JSON.stringify(out));
  rmSync(dataDir, { recursive: true, force: true });
}
