// The results table (markdown): our figure, the reference's, their ratio, the target and whether it is met.
const num = (v, digits = 0) =>
  v === undefined || v === null || Number.isNaN(v)
    ? '–'
    : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = (v) => (v === undefined || Number.isNaN(v) ? '–' : `${num(v, v < 10 ? 2 : 1)} ms`);
const sec = (v) => (v === undefined ? '–' : `${num(v, v < 10 ? 2 : 1)} s`);
const mb = (v) => (v === undefined ? '–' : `${num(v / 2 ** 20, 1)} MB`);
const size = (n) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : `${n}`);
const ratio = (a, b, higherIsBetter = true) => {
  if (!a || !b || Number.isNaN(a) || Number.isNaN(b)) return '–';
  return `${num(higherIsBetter ? a / b : b / a, 1)}×`;
};
const mark = (ok) => (ok === undefined ? '' : ok ? 'yes' : '**no**');

export function formatReport(r) {
  const o = r.ours;
  const ref = r.reference;
  const e = r.embedded;
  const bare = r.bare;
  const rows = [];
  const row = (workload, metric, ours, reference, vs, embedded, target, met) =>
    rows.push(`| ${workload} | ${metric} | ${ours} | ${reference} | ${vs} | ${embedded} | ${target} | ${mark(met)} |`);

  row('ceiling', 'bare node:http, 50 conn.', `${num(bare.rps)} req/s`, '', '', '', '', undefined);
  const sizes = r.options.sizes;
  const lookupRps = [];
  for (const n of sizes) {
    const a = o?.sizes[n]?.lookups;
    const b = ref?.sizes[n]?.lookups;
    const c = e?.sizes[n]?.lookups;
    lookupRps.push(a?.rps);
    const share = a ? a.rps / bare.rps : undefined;
    row(
      `1. lookups at ${size(n)}`,
      'req/s (share of ceiling)',
      a ? `${num(a.rps)} (${num(share * 100)}%)` : '–',
      !b ? '–' : b.requests === 0 ? 'none answered in 10 s' : `${num(b.rps)} (${num((b.rps / bare.rps) * 100, 1)}%)`,
      ratio(a?.rps, b?.rps),
      c ? `${num(c.rps)}` : '–',
      '≥ 50% of ceiling',
      a ? share >= 0.5 : undefined,
    );
    row(
      '',
      'p50 / p99',
      a ? `${ms(a.p50)} / ${ms(a.p99)}` : '–',
      !b ? '–' : b.requests === 0 ? '> 10 s (wrk timeout)' : `${ms(b.p50)} / ${ms(b.p99)}`,
      b?.requests === 0 ? '' : ratio(a?.p99, b?.p99, false),
      c ? `${ms(c.p50)} / ${ms(c.p99)}` : '–',
      'p99 ≤ 10 ms',
      a ? a.p99 <= 10 : undefined,
    );
    const va = o?.sizes[n]?.visibleAfter;
    const vb = ref?.sizes[n]?.visibleAfter;
    if (va !== undefined) {
      row('', 'last seeded decision answered after', sec(va), vb === undefined ? '–' : sec(vb), '', '', '', undefined);
    }
    if (a && (a.non2xx || a.errors))
      row('', 'errors', `${a.non2xx} non-2xx, ${a.errors} socket`, '', '', '', '', undefined);
  }
  const flat = lookupRps.filter(Boolean);
  if (flat.length > 1)
    row(
      '',
      `${size(sizes[0])} → ${size(sizes[sizes.length - 1])}`,
      `${num((flat[flat.length - 1] / flat[0]) * 100)}% of the ${size(sizes[0])} rate`,
      '',
      '',
      '',
      'no slowdown (≥ 90%)',
      flat[flat.length - 1] / flat[0] >= 0.9,
    );

  for (const n of sizes.filter((s) => s >= 100_000)) {
    const a = o?.sizes[n]?.startup;
    const b = ref?.sizes[n]?.startup;
    const c = e?.sizes[n]?.startup;
    const target = n === 100_000 ? '≥ 5× faster' : n >= 1_000_000 ? '< 5 s' : '';
    const met =
      !a || a.error
        ? undefined
        : n === 100_000
          ? b && !b.error
            ? b.seconds / a.seconds >= 5
            : undefined
          : n >= 1_000_000
            ? a.seconds < 5
            : undefined;
    row(
      `2. stream startup at ${size(n)}`,
      'time, body',
      a?.error ? a.error : a ? `${sec(a.seconds)}, ${mb(a.bytes)}` : '–',
      b?.error ? b.error : b ? `${sec(b.seconds)}, ${mb(b.bytes)}` : '–',
      ratio(a?.seconds, b?.seconds, false),
      c && !c.error ? `${sec(c.seconds)}` : '–',
      target,
      met,
    );
    const g = o?.sizes[n]?.startupGzip;
    const gb = ref?.sizes[n]?.startupGzip;
    if (g && !g.error) {
      const shrink = g.bytes / g.wireBytes;
      row(
        '',
        'with Accept-Encoding: gzip',
        `${sec(g.seconds)}, ${mb(g.wireBytes)} (${num(shrink, 1)}× smaller)`,
        gb && !gb.error ? `${sec(gb.seconds)}, ${mb(gb.wireBytes)} (${gb.gzip ? 'gzip' : 'not compressed'})` : '–',
        ratio(g.wireBytes, gb?.wireBytes, false),
        '',
        'gzip ≥ 5× smaller',
        shrink >= 5,
      );
    }
  }

  const d = o?.deltas;
  const db = ref?.deltas;
  if (d) {
    row(
      `3. stream deltas`,
      `${r.options.bouncers} bouncers / 10 s, 50 changes/s: poll p50 / p99`,
      `${ms(d.p50)} / ${ms(d.p99)}`,
      db ? `${ms(db.p50)} / ${ms(db.p99)}` : '–',
      ratio(d.p99, db?.p99, false),
      '',
      'p99 ≤ 5 ms',
      d.p99 <= 5,
    );
    row(
      '',
      'polls answered (failed), mean body',
      `${num(d.polls)} (${d.failures}), ${num(d.meanBytes)} B`,
      db ? `${num(db.polls)} (${db.failures}), ${num(db.meanBytes)} B` : '–',
      '',
      '',
      '',
      undefined,
    );
    row(
      '',
      'PostgreSQL rows written by polls alone (10 s)',
      `${num(o.pollWrites.rows)} for ${num(o.pollWrites.polls)} polls`,
      ref?.pollWrites ? `${num(ref.pollWrites.rows)} for ${num(ref.pollWrites.polls)} polls` : '–',
      '',
      '',
      'none',
      o.pollWrites.rows === 0,
    );
  }
  const i = o?.ingestion;
  const ib = ref?.ingestion;
  if (i) {
    const rate = i.accepted / i.seconds;
    const rateB = ib ? ib.accepted / ib.seconds : undefined;
    row(
      '4. alert ingestion',
      'agent-like alerts/s, 16 conn. (p99)',
      `${num(rate)} (${ms(i.p99)})`,
      ib ? `${num(rateB)} (${ms(ib.p99)})` : '–',
      ratio(rate, rateB),
      '',
      '≥ 2×',
      rateB ? rate / rateB >= 2 : undefined,
    );
    row(
      '',
      'accepted / stored',
      `${num(i.accepted)} / ${num(i.stored)}`,
      ib ? `${num(ib.accepted)} / ${num(ib.stored)}` : '–',
      '',
      '',
      'every accepted alert stored',
      i.stored >= i.accepted,
    );
  }
  const ic = o?.importCscli;
  const icb = ref?.importCscli;
  if (ic) {
    const n = r.options.importSize;
    row(
      `5. import ${size(n)}`,
      'cscli decisions import (one alert): decisions/s',
      ic.error ? ic.error : `${num(ic.rate)} (${sec(ic.seconds)})`,
      icb?.error ? icb.error : icb ? `${num(icb.rate)} (${sec(icb.seconds)})` : '–',
      ratio(ic.rate, icb?.rate),
      '',
      '≥ 5×',
      icb?.rate && ic.rate ? ic.rate / icb.rate >= 5 : undefined,
    );
    const il = o.importLapi;
    if (il)
      row(
        '',
        'lapi decisions import: decisions/s',
        il.error ? il.error : `${num(il.rate)} (${sec(il.seconds)})`,
        '',
        ratio(il.rate, icb?.rate),
        '',
        '≥ 5×',
        icb?.rate && il.rate ? il.rate / icb.rate >= 5 : undefined,
      );
  }
  if (o?.memory) {
    const top = size(o.active);
    row(
      '6. memory',
      `peak RSS at ${top}+ active: API replica`,
      mb(o.memory.api?.peak),
      ref ? mb(ref.memory.api?.peak) : '–',
      '',
      e ? mb(e.memory.api?.peak) : '–',
      '≤ 1 GB per replica',
      o.active >= 1e6 ? o.memory.api.peak <= 2 ** 30 : undefined,
    );
    if (o.memory.worker) row('', 'worker', mb(o.memory.worker.peak), '', '', '', '', undefined);
  }
  if (r.soak)
    row(
      '',
      `soak ${num(r.soak.seconds / 60)} min: API RSS slope`,
      `${num(r.soak.slopeMBPerHour, 1)} MB/h (max ${mb(r.soak.max)})`,
      '',
      '',
      '',
      'flat',
      Math.abs(r.soak.slopeMBPerHour) < 20,
    );
  for (const [name, s] of [
    ['ours (cluster)', o],
    ['reference', ref],
    ['ours (embedded)', e],
  ]) {
    if (s?.seeding?.length)
      row(
        'seeding',
        `${name}: POST /v1/alerts, 1,000 decisions/alert`,
        s.seeding.map((x) => `${size(x.to)}: ${num(x.rate)}/s`).join(', '),
        '',
        '',
        '',
        '',
        undefined,
      );
  }

  const m = r.machine;
  return [
    `# Benchmark: ours vs the reference CrowdSec LAPI`,
    '',
    `${m.date} · commit ${m.commit} · ${m.cpu}, ${m.memory}, Linux ${m.kernel} · load at start ${m.loadAtStart}`,
    `Node ${m.node}, PostgreSQL ${m.postgres}, Redis ${m.redis}, reference crowdsec ${m.reference}, ${m.wrk}. Everything on loopback, one machine:`,
    `load generator, servers, PostgreSQL and Redis share its cores. Ours: 1 API replica + 1 worker (cluster mode), and the`,
    `embedded mode (PGlite, no Redis). Reproduce: \`npm run bench\` (options: bench/run.mjs).`,
    '',
    '| workload | metric | ours (cluster) | reference 1.4.6 | ours vs reference | ours (embedded) | target | met |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}
