// Profile notifications without Redis: how fast does the built server deliver them, and what does the pipeline cost
// while idle? Starts the server (npm run build first) in embedded mode (or PostgreSQL-only with DATABASE_URL set) with
// a profile that notifies a local node:http receiver, pushes N alerts (50 per request, as an agent batches them),
// and reports alerts/s end to end, the latency from the push's answer to the receiver, and the server's CPU while idle.
//   node bench/notifications-db.mjs [alerts=2000] [group_threshold=0]
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { alertBody } from './lib/dataset.mjs';
import { UA } from './lib/servers.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const COUNT = Number(process.argv[2] ?? 2_000);
const THRESHOLD = Number(process.argv[3] ?? 0);
// BASELINE=1: the same profile without notifications (what the pushes and the idle server cost without the pipeline).
const BASELINE = process.env.BASELINE === '1';
const BATCH = 50;
// How long the idle server's CPU is measured (after a 2 s settle).
const IDLE_MS = Number(process.env.IDLE_S ?? 10) * 1000;
const PORT = 18000 + Math.floor(Math.random() * 1000);
const URL = `http://127.0.0.1:${PORT}`;
const dir = mkdtempSync(join(tmpdir(), 'lapi-notify-bench-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const receivedAt = new Map();
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    const now = performance.now();
    for (const ip of body.split(' ').filter(Boolean)) receivedAt.set(ip, now);
    res.writeHead(200).end();
  });
});
await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
writeFileSync(
  join(dir, 'profiles.yaml'),
  `name: notify\nfilters:\n - Alert.GetScope() == "Ip"\ndecisions:\n - type: ban\n   duration: 4h\n${BASELINE ? '' : 'notifications:\n - bench\n'}on_success: break\n`,
);
mkdirSync(join(dir, 'notifications'));
writeFileSync(
  join(dir, 'notifications', 'http.yaml'),
  [
    'type: http',
    'name: bench',
    'format: "{{range .}}{{.Source.Value}} {{end}}"',
    `url: http://127.0.0.1:${receiver.address().port}/`,
    'method: POST',
    ...(THRESHOLD > 0 ? [`group_threshold: ${THRESHOLD}`, 'group_wait: 1s'] : []),
    '',
  ].join('\n'),
);
const env = {
  ...process.env,
  LAPI_DATA_DIR: join(dir, 'data'),
  LAPI_LISTEN_URI: `127.0.0.1:${PORT}`,
  LAPI_LOG_LEVEL: 'warn',
  LAPI_PROFILES_PATH: join(dir, 'profiles.yaml'),
  LAPI_NOTIFICATIONS_DIR: join(dir, 'notifications'),
};
delete env.REDIS_URL;
const mode = env.DATABASE_URL ? 'postgres-only' : 'embedded';
const server = spawn(process.execPath, [join(ROOT, 'dist/apps/api/src/main.js')], { env, stdio: 'inherit' });
const cpuMs = () => {
  const f = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
};
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
    return r.stdout;
  };
  cli('machines', 'add', 'notifier', '--password', 'notifier-password-123');
  const login = await fetch(`${URL}/v1/watchers/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': UA },
    body: JSON.stringify({ machine_id: 'notifier', password: 'notifier-password-123', scenarios: [] }),
  });
  const { token } = await login.json();

  await sleep(2_000);
  const idleFrom = cpuMs();
  await sleep(IDLE_MS);
  const idleCpu = (cpuMs() - idleFrom) / IDLE_MS;

  const answeredAt = new Map();
  const ip = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const started = performance.now();
  for (let i = 0; i < COUNT; i += BATCH) {
    const alerts = [];
    for (let j = i; j < Math.min(COUNT, i + BATCH); j++) {
      alerts.push(alertBody({ scenario: 'bench/notify', source: { scope: 'Ip', value: ip(j) }, decisions: [] }));
    }
    const r = await fetch(`${URL}/v1/alerts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'user-agent': UA },
      body: JSON.stringify(alerts),
    });
    if (r.status !== 201) throw new Error(`push: ${r.status} ${await r.text()}`);
    const now = performance.now();
    for (const a of alerts) answeredAt.set(a.source.value, now);
  }
  const pushedMs = performance.now() - started;
  while (!BASELINE && receivedAt.size < COUNT) {
    if (performance.now() - started > 600_000) throw new Error(`only ${receivedAt.size} of ${COUNT} received`);
    await sleep(50);
  }
  if (BASELINE) {
    console.log(
      JSON.stringify(
        {
          mode,
          baseline: true,
          alerts: COUNT,
          pushedMs: Math.round(pushedMs),
          idleCpuPercent: Number((idleCpu * 100).toFixed(2)),
        },
        null,
        2,
      ),
    );
  } else {
    const totalMs = Math.max(...receivedAt.values()) - started;
    const latencies = [...answeredAt].map(([k, t]) => receivedAt.get(k) - t).sort((a, b) => a - b);
    const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(0);
    const status = JSON.parse(cli('notifications', 'status', '-o', 'json'));
    console.log(
      JSON.stringify(
        {
          mode,
          alerts: COUNT,
          groupThreshold: THRESHOLD,
          pushedMs: Math.round(pushedMs),
          deliveredAllMs: Math.round(totalMs),
          alertsPerSecond: Math.round((COUNT * 1000) / totalMs),
          latencyMs: { p50: pct(50), p99: pct(99), max: pct(100) },
          deliveries: status.plugins[0].delivered,
          idleCpuPercent: Number((idleCpu * 100).toFixed(2)),
        },
        null,
        2,
      ),
    );
  }
} finally {
  server.kill('SIGTERM');
  receiver.close();
  await sleep(500);
  rmSync(dir, { recursive: true, force: true });
}
