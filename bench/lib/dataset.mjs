// The benchmark's data: decision i bans one IP, every 100th a /24 range (bench/wrk/lookups.lua draws its
// lookups from the same formulas). Seeding goes through POST /v1/alerts, 1,000 decisions per alert, the fastest
// path both servers share.
import { MACHINE, UA } from './servers.mjs';

export const listedIp = (i) => `${11 + (i >>> 16)}.${(i >>> 8) & 255}.${i & 255}.7`;
export const listedRange = (j) => `${100 + (j >>> 16)}.${(j >>> 8) & 255}.${j & 255}.0/24`;
export const decisionValue = (i) =>
  i % 100 === 0 ? { scope: 'Range', value: listedRange(i / 100) } : { scope: 'Ip', value: listedIp(i) };

export async function login(url) {
  const res = await fetch(`${url}/v1/watchers/login`, {
    method: 'POST',
    headers: { 'user-agent': UA, 'content-type': 'application/json' },
    body: JSON.stringify({ machine_id: MACHINE.id, password: MACHINE.password, scenarios: [] }),
  });
  if (res.status !== 200) throw new Error(`login on ${url}: ${res.status} ${await res.text()}`);
  return (await res.json()).token;
}

/** An alert as cscli/the agent sends it; `decisions` null lets the profiles decide (agent-like). */
export function alertBody({ scenario, source, decisions, message = 'bench' }) {
  const now = new Date().toISOString();
  return {
    capacity: 0,
    decisions,
    events: [],
    events_count: 1,
    labels: null,
    leakspeed: '0',
    message,
    remediation: true,
    scenario,
    scenario_hash: '',
    scenario_version: '',
    simulated: false,
    source,
    start_at: now,
    stop_at: now,
  };
}

export const decisionsFor = (from, to, { duration = '24h', origin = 'cscli', scenario = 'bench/seed' } = {}) => {
  const list = [];
  for (let i = from; i < to; i++) list.push({ duration, origin, scenario, type: 'ban', ...decisionValue(i) });
  return list;
};

export async function postAlerts(url, token, alerts) {
  const res = await fetch(`${url}/v1/alerts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'user-agent': UA, 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST /v1/alerts on ${url}: ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Seeds decisions [from, to): alerts of `perAlert` decisions, `parallel` requests at a time. Returns seconds. */
export async function seed(url, token, from, to, { perAlert = 1000, parallel = 4 } = {}) {
  const started = performance.now();
  let next = from;
  const lane = async () => {
    while (next < to) {
      const a = next;
      const b = Math.min(to, a + perAlert);
      next = b;
      await postAlerts(url, token, [
        alertBody({
          scenario: 'bench/seed',
          message: `seed ${a}-${b}`,
          source: { scope: 'Ip', value: '192.0.2.1' },
          decisions: decisionsFor(a, b),
        }),
      ]);
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return (performance.now() - started) / 1000;
}
