// One big write against the embedded server: how long do /health and a bouncer lookup wait meanwhile?
// Starts the built server (npm run build first) on a fresh data directory, adds a machine and a bouncer, pushes one
// alert with N decisions and probes GET /health and GET /v1/decisions?ip= every 20 ms until the push has answered.
// Also prints the server's own longest event-loop stall during the push (lapi_event_loop_delay_max_seconds).
//   node bench/big-write.mjs [decisions=100000] [import]   CPU_PROF=1 also writes a V8 profile of the server to ./prof
// With `import`, the decisions come through `lapi decisions import` (the admin socket) instead of POST /v1/alerts.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { alertBody, decisionsFor } from './lib/dataset.mjs';
import { UA } from './lib/servers.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const COUNT = Number(process.argv[2] ?? 100_000);
const IMPORT = process.argv[3] === 'import';
const PORT = 18000 + Math.floor(Math.random() * 1000);
const URL = `http://127.0.0.1:${PORT}`;
const METRICS = `127.0.0.1:${PORT + 1000}`;
const dataDir = mkdtempSync(join(tmpdir(), 'lapi-big-write-'));
const env = {
  ...process.env,
  LAPI_DATA_DIR: dataDir,
  LAPI_LISTEN_URI: `127.0.0.1:${PORT}`,
  LAPI_LOG_LEVEL: 'warn',
  LAPI_METRICS_LISTEN_URI: METRICS,
};
delete env.DATABASE_URL;
delete env.REDIS_URL;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const prof = process.env.TRACE_GC
  ? ['--trace-gc']
  : process.env.NODE_FLAGS
    ? process.env.NODE_FLAGS.split(' ')
    : process.env.CPU_PROF
      ? [
          '--cpu-prof',
          '--cpu-prof-interval',
          process.env.CPU_PROF,
          `--cpu-prof-dir=${process.env.CPU_PROF_DIR ?? join(ROOT, 'prof')}`,
        ]
      : [];
const server = spawn(process.execPath, [...prof, join(ROOT, 'dist/apps/api/src/main.js')], { env, stdio: 'inherit' });
try {
  for (let i = 0; ; i++) {
    const ok = await fetch(`${URL}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (i > 300) throw new Error('server did not start');
    await sleep(200);
  }
  const cli = (...args) => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/lapi.js'), ...args], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`lapi ${args.join(' ')}: ${r.stderr}`);
  };
  cli('machines', 'add', 'big-writer', '--password', 'big-writer-password-123');
  cli('bouncers', 'add', 'big-reader', '--key', 'big-reader-key-0123456789');
  const login = await fetch(`${URL}/v1/watchers/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': UA },
    body: JSON.stringify({ machine_id: 'big-writer', password: 'big-writer-password-123', scenarios: [] }),
  });
  if (login.status !== 200) throw new Error(`login: ${login.status} ${await login.text()}`);
  const { token } = await login.json();
  const body = JSON.stringify([
    alertBody({
      scenario: 'bench/big-write',
      source: { scope: 'Ip', value: '192.0.2.1' },
      decisions: decisionsFor(0, COUNT),
    }),
  ]);

  // Read (and reset) the longest stall so far: start-up's are not the push's.
  const stall = async () => {
    const text = await fetch(`http://${METRICS}/metrics`).then((r) => r.text());
    return Math.round(Number(/^lapi_event_loop_delay_max_seconds (\S+)$/m.exec(text)?.[1]) * 1000);
  };
  await stall();
  let pushing = true;
  const probe = async (path, headers) => {
    const worst = { ms: 0, count: 0 };
    while (pushing) {
      const started = performance.now();
      const res = await fetch(`${URL}${path}`, { headers });
      await res.text();
      worst.ms = Math.max(worst.ms, performance.now() - started);
      worst.count++;
      await sleep(20);
    }
    return worst;
  };
  const file = join(dataDir, 'import.json');
  if (IMPORT) {
    writeFileSync(file, JSON.stringify(decisionsFor(0, COUNT).map((d) => ({ value: d.value, scope: d.scope }))));
  }
  const started = performance.now();
  const push = IMPORT
    ? new Promise((resolveImport, rejectImport) => {
        const child = spawn(process.execPath, [join(ROOT, 'bin/lapi.js'), 'decisions', 'import', '-i', file], {
          env,
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        child.once('exit', (code) => {
          pushing = false;
          if (code === 0) resolveImport(performance.now() - started);
          else rejectImport(new Error(`lapi decisions import: exit ${code}`));
        });
      })
    : fetch(`${URL}/v1/alerts`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'user-agent': UA },
        body,
      }).then(async (r) => {
        const text = await r.text();
        pushing = false;
        if (r.status !== 201) throw new Error(`push: ${r.status} ${text.slice(0, 300)}`);
        return performance.now() - started;
      });
  const [pushMs, health, lookup] = await Promise.all([
    push,
    probe('/health', {}),
    probe('/v1/decisions?ip=11.0.1.7', { 'x-api-key': 'big-reader-key-0123456789' }),
  ]);
  const worstStallMs = await stall();
  const found = await fetch(`${URL}/v1/decisions?ip=11.0.1.7`, {
    headers: { 'x-api-key': 'big-reader-key-0123456789' },
  }).then((r) => r.json());
  console.log(
    JSON.stringify({
      decisions: COUNT,
      via: IMPORT ? 'lapi decisions import' : 'POST /v1/alerts',
      bodyMB: +(body.length / 1e6).toFixed(1),
      pushMs: Math.round(pushMs),
      worstHealthMs: Math.round(health.ms),
      worstStallMs,
      healthProbes: health.count,
      worstLookupMs: Math.round(lookup.ms),
      lookupProbes: lookup.count,
      visibleAfter: Array.isArray(found) ? found.length : found,
    }),
  );
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
}
