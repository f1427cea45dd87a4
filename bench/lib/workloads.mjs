// The workloads of issues #5 and #12, each run the same way against every server.
import { Agent, request } from 'node:http';
import { createGunzip } from 'node:zlib';
import { alertBody, decisionValue, postAlerts } from './dataset.mjs';
import { cpuSecondsOf, sleep } from './proc.mjs';
import { UA } from './servers.mjs';
import { runWrk } from './wrk.mjs';

export const quantile = (values, q) => {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
};

/** 1. GET /v1/decisions?ip= with wrk: 40% listed IPs, 10% inside listed ranges, 50% misses. */
export const lookups = (server, { n, key, seconds, connections }) =>
  runWrk({ url: server.url, script: 'lookups.lua', args: [n, key], seconds, connections });

export const ceiling = (bare, { seconds, connections }) =>
  runWrk({ url: bare.url, script: 'constant.lua', seconds, connections });

/** One GET, the body read to its end; with gzip, the compressed bytes are counted and the body inflated. */
export function get(url, headers, { timeoutMs = 300_000, agent } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { headers: { 'user-agent': UA, ...headers }, agent }, (res) => {
      let wire = 0;
      let plain = 0;
      let first;
      res.on('data', (c) => {
        first ??= performance.now();
        wire += c.length;
      });
      const gz = res.headers['content-encoding'] === 'gzip';
      const body = [];
      if (gz) {
        const inflate = res.pipe(createGunzip());
        inflate.on('data', (c) => {
          plain += c.length;
          if (headers['x-bench-keep-body']) body.push(c);
        });
        inflate.on('end', () => done());
        inflate.on('error', reject);
      } else {
        res.on('data', (c) => {
          plain += c.length;
          if (headers['x-bench-keep-body']) body.push(c);
        });
        res.on('end', () => done());
      }
      res.on('error', reject);
      const done = () =>
        resolve({
          status: res.statusCode,
          seconds: (performance.now() - started) / 1000,
          firstByteSeconds: ((first ?? performance.now()) - started) / 1000,
          wireBytes: wire,
          bytes: plain,
          gzip: gz,
          body: body.length ? Buffer.concat(body).toString() : undefined,
        });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timed out after ${timeoutMs / 1000} s`)));
    req.on('error', reject);
    req.end();
  });
}

/** 2. The first pull of a new bouncer (startup=true): time and size, plain and with Accept-Encoding: gzip. */
export async function streamStartup(server, key, { gzip, timeoutMs }) {
  const cpu0 = cpuSecondsOf(server.processes.api.pid);
  const r = await get(
    `${server.url}/v1/decisions/stream?startup=true`,
    { 'x-api-key': key, ...(gzip ? { 'accept-encoding': 'gzip' } : {}) },
    { timeoutMs },
  );
  if (r.status !== 200) throw new Error(`stream startup on ${server.name}: HTTP ${r.status}`);
  return { ...r, cpuSeconds: cpuSecondsOf(server.processes.api.pid) - cpu0 };
}

/**
 * 2b. The first pulls of new bouncers (one per key: a bouncer's pulls queue behind each other) at once, half plain,
 * half gzip (as Go bouncers ask): the memory peak of issue #12 is taken with these. Returns the wall time, the
 * slowest pull, and failures.
 */
export async function concurrentStartups(server, keys, { timeoutMs }) {
  const count = keys.length;
  const started = performance.now();
  const pulls = await Promise.allSettled(
    keys.map((key, i) =>
      get(
        `${server.url}/v1/decisions/stream?startup=true`,
        { 'x-api-key': key, ...(i % 2 ? { 'accept-encoding': 'gzip' } : {}) },
        { timeoutMs },
      ),
    ),
  );
  const ok = pulls.filter((p) => p.status === 'fulfilled' && p.value.status === 200).map((p) => p.value);
  return {
    count,
    seconds: (performance.now() - started) / 1000,
    slowest: Math.max(...ok.map((r) => r.seconds)),
    failures: count - ok.length,
    error: pulls.find((p) => p.status === 'rejected')?.reason?.message,
  };
}

/** Seconds until a bouncer lookup of `ip` answers a decision, asking every `intervalMs`. */
export async function untilAnswered(server, key, ip, { intervalMs = 200, timeoutMs = 600_000 } = {}) {
  const started = performance.now();
  for (;;) {
    const res = await fetch(`${server.url}/v1/decisions?ip=${ip}`, {
      headers: { 'x-api-key': key, 'user-agent': UA },
    }).catch(() => undefined);
    if (res?.ok && (await res.text()) !== 'null') {
      return (performance.now() - started) / 1000;
    }
    if (performance.now() - started > timeoutMs)
      throw new Error(`${server.name}: ${ip} not answered after ${timeoutMs / 1000} s`);
    await sleep(intervalMs);
  }
}

/**
 * 3. Many bouncers polling the stream while decisions change: each bouncer first takes its position with a startup
 * pull filtered to nothing (cheap on both servers: the position is the bouncer's, whatever the filter), then pulls
 * every `interval` seconds; a writer adds decisions at `rate`/s (every 5th change deletes an earlier one).
 */
export async function streamDeltas(server, { keys, token, seconds, intervalSeconds, rate, base }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const startup = '/v1/decisions/stream?startup=true&scenarios_containing=bench-matches-nothing';
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < keys.length) {
        const key = keys[next++];
        const r = await get(`${server.url}${startup}`, { 'x-api-key': key }, { agent });
        if (r.status !== 200) throw new Error(`startup pull: HTTP ${r.status}`);
      }
    }),
  );
  const latencies = [];
  const sizes = [];
  let failures = 0;
  let writing = true;
  let changes = 0;
  const added = [];
  // The writer: `rate` changes per second, paced.
  const writer = (async () => {
    const started = performance.now();
    while (writing) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate);
      while (changes < due && writing) {
        const i = base + changes;
        changes++;
        if (changes % 5 === 0 && added.length > 0) {
          const ip = added.shift();
          await fetch(`${server.url}/v1/decisions?ip=${ip}`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${token}`, 'user-agent': UA },
          }).catch(() => undefined);
        } else {
          const { value, scope } = decisionValue(i % 100 === 0 ? i + 1 : i);
          added.push(value);
          await postAlerts(server.url, token, [
            alertBody({
              scenario: 'bench/delta',
              source: { scope, value },
              decisions: [{ duration: '1h', origin: 'cscli', scenario: 'bench/delta', type: 'ban', scope, value }],
            }),
          ]).catch(() => undefined);
        }
      }
      await sleep(5);
    }
  })();
  // The pollers: bouncer k polls at k·interval/keys, then every interval.
  const deadline = performance.now() + seconds * 1000;
  const period = intervalSeconds * 1000;
  await Promise.all(
    keys.map(async (key, k) => {
      await sleep((k * period) / keys.length);
      while (performance.now() < deadline) {
        const t = performance.now();
        try {
          const r = await get(`${server.url}/v1/decisions/stream`, { 'x-api-key': key }, { agent, timeoutMs: 30_000 });
          if (r.status === 200) {
            latencies.push(r.seconds * 1000);
            sizes.push(r.bytes);
          } else failures++;
        } catch {
          failures++;
        }
        await sleep(Math.max(0, period - (performance.now() - t)));
      }
    }),
  );
  writing = false;
  await writer;
  agent.destroy();
  return {
    polls: latencies.length,
    failures,
    changes,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: Math.max(...latencies),
    meanBytes: sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length),
  };
}

/** One poll of every bouncer, 32 at a time: afterwards none of them has anything new. */
export async function pollEach(server, keys) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < keys.length) {
        await get(`${server.url}/v1/decisions/stream`, { 'x-api-key': keys[next++] }, { agent, timeoutMs: 600_000 });
      }
    }),
  );
  agent.destroy();
}

/** Polls only (no writer) for a while: returns how many polls were answered. */
export async function pollsOnly(server, { keys, seconds }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const deadline = performance.now() + seconds * 1000;
  let polls = 0;
  await Promise.all(
    Array.from({ length: 32 }, async (_, lane) => {
      for (let k = lane % keys.length; performance.now() < deadline; k = (k + 32) % keys.length) {
        const r = await get(`${server.url}/v1/decisions/stream`, { 'x-api-key': keys[k] }, { agent });
        if (r.status === 200) polls++;
      }
    }),
  );
  agent.destroy();
  return polls;
}

/** 4. Agent-like alerts (no decisions: the profile bans the source) over `connections` connections, with wrk. */
export const ingestion = (server, { token, seconds, connections, runId }) =>
  runWrk({ url: server.url, script: 'alerts.lua', args: [token, runId], seconds, connections });
