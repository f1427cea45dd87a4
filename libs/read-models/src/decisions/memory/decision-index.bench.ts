// Memory and speed of a DecisionIndex holding N synthetic decisions (default 1M: 90% IPv4 addresses, 10% /24s,
// as a large blocklist). Not a test: numbers depend on the machine. Run from the build:
//   npm run build && node --expose-gc dist/libs/read-models/src/decisions/memory/decision-index.bench.js [N]
import { parseIpRange } from '@lapi/domain';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { DecisionRecord } from '../redis/decision-record';
import type { DecisionFilter } from '../sql/decision-queries';
import { DecisionIndex } from './decision-index';

const gc = (globalThis as { gc?: () => void }).gc;
const MB = 1024 * 1024;
const NOW = Date.parse('2030-01-01T00:00:00Z');
const HOUR = 3_600_000;

function main(count: number): void {
  if (!gc) {
    throw new Error('run with node --expose-gc');
  }
  let a = 1; // mulberry32
  const random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const octet = () => Math.floor(random() * 256);
  const address = () => `${1 + Math.floor(random() * 222)}.${octet()}.${octet()}.${octet()}`;
  const origins = ['CAPI', 'lists', 'crowdsec'];
  const scenarios = ['crowdsecurity/ssh-bf', 'crowdsecurity/http-probing', 'firehol_level1', 'manual ban'];

  gc();
  const before = process.memoryUsage();
  const index = new DecisionIndex();
  const kept: DecisionRecord[] = []; // a few records to delete later
  // Records arrive as JSON from the change log: parsed strings are flat, unlike concatenated ones.
  const batch = (from: number, to: number): DecisionRecord[] => {
    const records: DecisionRecord[] = [];
    for (let id = from; id < to; id++) {
      const range = random() < 0.1;
      records.push({
        id,
        uuid: randomUUID(),
        alertId: Math.ceil(id / 1000),
        origin: origins[id % origins.length],
        type: 'ban',
        scope: range ? 'Range' : 'Ip',
        value: range ? `${address().replace(/\.\d+$/, '.0')}/24` : address(),
        scenario: scenarios[id % scenarios.length],
        simulated: false,
        until: NOW + Math.floor(random() * 48 * HOUR) - HOUR,
        removed: false,
      });
    }
    return JSON.parse(JSON.stringify(records)) as DecisionRecord[];
  };
  let loadMs = 0;
  let t = 0;
  for (let from = 1; from <= count; from += 10_000) {
    const records = batch(from, Math.min(from + 10_000, count + 1));
    t = performance.now();
    for (const record of records) {
      index.apply(record, record.id);
    }
    loadMs += performance.now() - t;
    kept.push(...records.filter((r) => r.until > NOW + HOUR).slice(0, 1000 - kept.length));
  }
  gc();
  const after = process.memoryUsage();
  // The columns of typed arrays are outside the JavaScript heap: counted in arrayBuffers.
  const heap = after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers;
  report(`decisions            ${count}`);
  report(`load                 ${loadMs.toFixed(0)} ms (${((loadMs * 1000) / count).toFixed(2)} µs per apply)`);
  report(`heap + arrayBuffers   ${(heap / MB).toFixed(0)} MB (${(heap / count).toFixed(0)} B per decision)`);
  report(`rss                  ${(after.rss / MB).toFixed(0)} MB (whole process)`);

  const all: DecisionFilter = { contains: true, includeSimulated: false };
  // As a request would: parse the IP, then look it up. (A filter built by spreading another object, `{ ...all, ip }`,
  // costs more than the lookup itself: ~1.5 µs in V8.)
  const lookups = 100_000;
  const ips = Array.from({ length: lookups }, address);
  t = performance.now();
  let hits = 0;
  for (const ip of ips) {
    hits += index.find({ ip: parseIpRange(ip)!, contains: true, includeSimulated: false }, NOW).length;
  }
  const lookupUs = ((performance.now() - t) * 1000) / lookups;
  report(`GET /v1/decisions?ip ${lookupUs.toFixed(2)} µs per lookup, parse included (${hits} hits)`);

  const stream: DecisionFilter = { ...all, scopes: ['Ip', 'Range'] };
  t = performance.now();
  const cursor = (() => {
    const page = index.startup(stream, true, NOW);
    const ms = performance.now() - t;
    report(`startup              ${ms.toFixed(0)} ms (${page.new.length} new, ${page.deleted.length} deleted)`);
    return page.next;
  })();

  // Between two pulls: 500 new decisions and 500 deleted ones.
  for (let i = 0; i < 500; i++) {
    index.apply({ ...kept[i], id: count + 1 + i, uuid: randomUUID(), value: address() }, index.seq + 1);
    index.apply({ ...kept[500 + i], until: NOW + 5_000 }, index.seq + 1);
  }
  t = performance.now();
  const delta = index.delta(stream, true, cursor, NOW + 10_000);
  report(
    `delta (10 s later)   ${(performance.now() - t).toFixed(2)} ms (${delta.new.length} new, ${delta.deleted.length} deleted)`,
  );

  const inside: DecisionFilter = { ...all, range: parseIpRange('10.0.0.0/8')!, contains: false };
  t = performance.now();
  const first = index.find(inside, NOW).length;
  const firstMs = performance.now() - t;
  t = performance.now();
  index.find(inside, NOW);
  report(
    `contains=false /8    ${firstMs.toFixed(0)} ms first (sorts), ${(performance.now() - t).toFixed(2)} ms then (${first} found)`,
  );
  kept.length = 0;
  gc();
  const end = process.memoryUsage();
  report(
    `heap + arrayBuffers after all ${((end.heapUsed - before.heapUsed + end.arrayBuffers - before.arrayBuffers) / MB).toFixed(0)} MB`,
  );
}

const report = (line: string) => process.stdout.write(`${line}\n`);

main(Number(process.argv[2] ?? 1_000_000));
