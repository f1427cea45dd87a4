// The results table (markdown): a column per server (ours in each mode, the reference on each database), the
// target, and whether each of our modes meets it; then the targets met per mode.
const num = (v, digits = 0) =>
  v === undefined || v === null || Number.isNaN(v)
    ? '–'
    : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (v) => (v === undefined || Number.isNaN(v) ? '–' : `${num(v, v < 10 ? 2 : 1)} ms`);
const sec = (v) => (v === undefined ? '–' : `${num(v, v < 10 ? 2 : 1)} s`);
const mb = (v) => (v === undefined ? '–' : `${num(v / 2 ** 20, 1)} MB`);
const size = (n) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : `${n}`);
const times = (x) => (x === undefined || !Number.isFinite(x) ? '' : ` (${num(x, 1)}×)`);
const mark = (ok) => (ok === undefined ? '–' : ok ? 'yes' : '**no**');
const SHORT = { embedded: 'embedded', postgres: 'PostgreSQL', cluster: 'cluster', sqlite: 'SQLite' };

/**
 * The reference server with the best figure (`better`: 'lower' for times, 'higher' for rates) among those that
 * have one; `undefined` when none has.
 */
function bestReference(refs, value, better) {
  let best;
  for (const s of refs) {
    const v = value(s);
    if (v === undefined || Number.isNaN(v)) continue;
    if (!best || (better === 'lower' ? v < best.v : v > best.v)) best = { v, name: SHORT[s.database] };
  }
  return best;
}

export function formatReport(r) {
  const servers = r.servers;
  const ours = servers.filter((s) => s.kind === 'ours');
  const refs = servers.filter((s) => s.kind === 'reference');
  const bare = r.bare;
  const rows = [];
  const tally = new Map(ours.map((s) => [s.mode, { met: 0, missed: [] }]));
  let workload = '';
  /** One line; `cell(s)` gives each server's figure, `met(s)` each of our modes' verdict (undefined: not judged). */
  const row = (name, metric, cell, target = '', met) => {
    if (name) workload = name;
    const verdicts = met ? ours.map((s) => met(s)) : [];
    verdicts.forEach((ok, i) => {
      if (ok === undefined) return;
      const t = tally.get(ours[i].mode);
      if (ok) t.met++;
      else t.missed.push(`${workload}: ${metric}`);
    });
    const metCell = verdicts.some((v) => v !== undefined) ? verdicts.map(mark).join(' / ') : '';
    rows.push(`| ${[name, metric, ...servers.map((s) => cell(s) ?? ''), target, metCell].join(' | ')} |`);
  };
  const oursOnly = (f) => (s) => (s.kind === 'ours' ? f(s) : '');

  row('ceiling', `bare node:http, 50 conn.: ${num(bare.rps)} req/s`, () => '');
  const sizes = r.options.sizes;
  for (const n of sizes) {
    const l = (s) => s.sizes[n]?.lookups;
    row(
      `1. lookups at ${size(n)}`,
      'req/s (share of ceiling)',
      (s) =>
        !l(s)
          ? '–'
          : l(s).requests === 0
            ? `none answered in ${num(l(s).seconds)} s`
            : `${num(l(s).rps)} (${num((l(s).rps / bare.rps) * 100, l(s).rps / bare.rps < 0.1 ? 1 : 0)}%)`,
      '≥ 50% of ceiling',
      (s) => (l(s) ? l(s).rps / bare.rps >= 0.5 : undefined),
    );
    row(
      '',
      'p50 / p99',
      (s) => (!l(s) ? '–' : l(s).requests === 0 ? '> 10 s (wrk timeout)' : `${ms(l(s).p50)} / ${ms(l(s).p99)}`),
      'p99 ≤ 10 ms',
      (s) => (l(s) ? l(s).requests > 0 && l(s).p99 <= 10 : undefined),
    );
    row('', 'last seeded decision answered after', (s) => sec(s.sizes[n]?.visibleAfter));
    if (servers.some((s) => l(s)?.non2xx || l(s)?.errors))
      row('', 'errors', (s) => (l(s) ? `${l(s).non2xx} non-2xx, ${l(s).errors} socket` : '–'));
  }
  if (sizes.length > 1) {
    const [first, last] = [sizes[0], sizes[sizes.length - 1]];
    const kept = (s) => s.sizes[last]?.lookups?.rps / s.sizes[first]?.lookups?.rps;
    row(
      '',
      `${size(first)} → ${size(last)}`,
      (s) => (Number.isFinite(kept(s)) ? `${num(kept(s) * 100)}% of the ${size(first)} rate` : '–'),
      'no slowdown (≥ 90%)',
      (s) => (Number.isFinite(kept(s)) ? kept(s) >= 0.9 : undefined),
    );
  }

  for (const n of sizes) {
    const a = (s) => (s.sizes[n]?.startup?.error ? undefined : s.sizes[n]?.startup);
    const ref = bestReference(refs, (s) => a(s)?.seconds, 'lower');
    const target =
      n === 100_000 ? `≥ 5× the faster reference (${ref?.name ?? 'none answered'})` : n >= 1_000_000 ? '< 2 s' : '';
    row(
      `2. stream startup at ${size(n)}`,
      'time, body',
      (s) => {
        const x = s.sizes[n]?.startup;
        if (!x) return '–';
        if (x.error) return x.error;
        return `${sec(x.seconds)}, ${mb(x.bytes)}${s.kind === 'ours' && ref ? times(ref.v / x.seconds) : ''}`;
      },
      target,
      (s) =>
        !a(s)
          ? undefined
          : n === 100_000
            ? ref && ref.v / a(s).seconds >= 5
            : n >= 1_000_000
              ? a(s).seconds < 2
              : undefined,
    );
    const g = (s) => (s.sizes[n]?.startupGzip?.error ? undefined : s.sizes[n]?.startupGzip);
    row(
      '',
      'with Accept-Encoding: gzip',
      (s) =>
        !g(s)
          ? (s.sizes[n]?.startupGzip?.error ?? '–')
          : `${sec(g(s).seconds)}, ${mb(g(s).wireBytes)} (${
              g(s).gzip ? `${num(g(s).bytes / g(s).wireBytes, 1)}× smaller` : 'not compressed'
            })`,
      n >= 100_000 ? 'gzip ≥ 5× smaller' : '',
      (s) => (g(s) && n >= 100_000 ? g(s).bytes / g(s).wireBytes >= 5 : undefined),
    );
    const c = (s) => s.sizes[n]?.concurrentStartups;
    if (ours.some(c))
      row(
        '',
        `${r.options.concurrentStartups} new bouncers' first pulls at once (half gzip): all done, slowest`,
        oursOnly((s) =>
          c(s)
            ? `${sec(c(s).seconds)}, ${sec(c(s).slowest)}${c(s).failures ? `, ${c(s).failures} failed: ${c(s).error}` : ''}`
            : '–',
        ),
        '(the load of 6. memory)',
      );
  }

  const d = (s) => s.deltas;
  if (servers.some(d)) {
    row(
      '3. stream deltas',
      `${r.options.bouncers} bouncers / 10 s, 50 changes/s: poll p50 / p99`,
      (s) => (d(s) ? `${ms(d(s).p50)} / ${ms(d(s).p99)}` : '–'),
      'p99 ≤ 5 ms',
      (s) => (d(s) ? d(s).p99 <= 5 : undefined),
    );
    row('', 'polls answered (failed), mean body', (s) =>
      d(s) ? `${num(d(s).polls)} (${d(s).failures}), ${num(d(s).meanBytes)} B` : '–',
    );
    const w = (s) => s.pollWrites;
    row(
      '',
      `written by ${num(r.options.pollsSeconds)} s of polls with nothing new (each bouncer drained first)`,
      (s) =>
        w(s)
          ? `${num(w(s).n)} ${w(s).unit}${w(s).detail ? ` (${w(s).detail})` : ''} for ${num(w(s).polls)} polls`
          : '–',
      'none',
      (s) => (w(s) ? w(s).n === 0 : undefined),
    );
    if (servers.some((s) => w(s)?.redis))
      row('', `Redis writes/s meanwhile; idle for ${r.options.idleSeconds} s before (the whole Redis server)`, (s) =>
        w(s)?.redis === undefined ? '' : `${num(w(s).redis, 1)}; ${num(w(s).redisIdle, 1)}`,
      );
  }

  const i = (s) => s.ingestion;
  if (servers.some(i)) {
    const rate = (s) => (i(s) ? i(s).accepted / i(s).seconds : undefined);
    const ref = bestReference(refs, rate, 'higher');
    row(
      '4. alert ingestion',
      'agent-like alerts/s, 16 conn., p99',
      (s) => (i(s) ? `${num(rate(s))}, ${ms(i(s).p99)}${s.kind === 'ours' && ref ? times(rate(s) / ref.v) : ''}` : '–'),
      `≥ 2× the faster reference (${ref?.name ?? 'none'})`,
      (s) => (i(s) && ref ? rate(s) / ref.v >= 2 : undefined),
    );
    row(
      '',
      'accepted / stored',
      (s) => (i(s) ? `${num(i(s).accepted)} / ${num(i(s).stored)}` : '–'),
      'every accepted alert stored',
      (s) => (i(s) ? i(s).stored >= i(s).accepted : undefined),
    );
  }

  const ic = (s) => (s.importCscli?.error ? undefined : s.importCscli);
  if (servers.some((s) => s.importCscli)) {
    const ref = bestReference(refs, (s) => ic(s)?.rate, 'higher');
    const target = `≥ 5× the faster reference (${ref?.name ?? 'none'})`;
    const cell = (x, s) =>
      !x
        ? '–'
        : x.error
          ? x.error
          : `${num(x.rate)}/s: ${sec(x.seconds)} (command ${sec(x.commandSeconds)})${
              s.kind === 'ours' && ref ? times(x.rate / ref.v) : ''
            }`;
    row(
      `5. import ${size(r.options.importSize)}`,
      'cscli decisions import (one alert), until a bouncer sees the last: decisions/s',
      (s) => cell(s.importCscli, s),
      target,
      (s) => (ic(s) && ref ? ic(s).rate / ref.v >= 5 : undefined),
    );
    const il = (s) => (s.importLapi?.error ? undefined : s.importLapi);
    if (ours.some((s) => s.importLapi))
      row(
        '',
        'lapi decisions import, the same way (against cscli on the reference)',
        oursOnly((s) => cell(s.importLapi, s)),
        target,
        (s) => (il(s) && ref ? il(s).rate / ref.v >= 5 : undefined),
      );
  }

  row(
    '6. memory',
    `API peak RSS at the largest size (ours: after ${r.options.concurrentStartups} first pulls at once)`,
    (s) => mb(s.memory?.api?.peak),
    '≤ 1 GB per replica at 1M',
    (s) => (s.active >= 1e6 && s.sizes[s.active]?.concurrentStartups ? s.memory.api.peak <= 2 ** 30 : undefined),
  );
  if (servers.some((s) => s.memory?.worker))
    row('', 'worker peak RSS', (s) => (s.memory?.worker ? mb(s.memory.worker.peak) : ''));
  if (ours.some((s) => s.soak))
    row(
      '',
      'soak: API RSS slope',
      oursOnly((s) =>
        s.soak
          ? `${num(s.soak.slopeMBPerHour, 1)} MB/h over ${num(s.soak.seconds / 60)} min (max ${mb(s.soak.max)})`
          : '–',
      ),
      'flat (< 20 MB/h)',
      (s) => (s.soak ? Math.abs(s.soak.slopeMBPerHour) < 20 : undefined),
    );
  row('seeding', 'POST /v1/alerts, 1,000 decisions/alert: decisions/s', (s) =>
    s.seeding.map((x) => `${size(x.to)}: ${num(x.rate)}`).join(', '),
  );

  const m = r.machine;
  const summary = ours.map((s) => {
    const t = tally.get(s.mode);
    return `- ${s.name}: ${t.met} of ${t.met + t.missed.length} met${
      t.missed.length ? `; not met: ${t.missed.join('; ')}` : ''
    }`;
  });
  const head = [
    'workload',
    'metric',
    ...servers.map((s) => s.name),
    'target',
    `met (${ours.map((s) => SHORT[s.mode]).join(' / ')})`,
  ];
  return [
    `# Benchmark: ours (embedded, PostgreSQL alone, cluster) vs the reference CrowdSec LAPI (SQLite, PostgreSQL)`,
    '',
    `${m.date} · commit ${m.commit} · ${m.cpu}, ${m.memory}, Linux ${m.kernel} · load at start ${m.loadAtStart}`,
    `Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}, reference crowdsec ${m.reference}, ${m.wrk}. Everything on loopback, one machine:`,
    `load generator, servers, PostgreSQL and Redis share its cores; one server runs at a time. Ours: embedded (PGlite,`,
    `no Redis), PostgreSQL alone (the API process, no Redis, no worker), cluster (1 API replica + 1 worker, PostgreSQL`,
    `and Redis). The reference: Debian's crowdsec on SQLite (its default) and on PostgreSQL. A "×" in our cells is`,
    `against the faster reference for that figure, named in the target. Reproduce: \`npm run bench\` (bench/README.md).`,
    '',
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows,
    '',
    'Targets (issues #5 and #12) per mode:',
    '',
    ...summary,
  ].join('\n');
}
