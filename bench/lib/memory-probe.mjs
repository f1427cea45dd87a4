// Preloaded into a server by bench/startup.mjs (`node --import`): samples the process's memory every 100 ms and, at its
// peak RSS, keeps process.memoryUsage() and the resident size of its mappings by kind. Written as JSON to
// MEMORY_PROBE_OUT when the process exits; SIGUSR2 records the sizes after a full collection. Bench only: the server does not know about it.
import { readFileSync, writeFileSync } from 'node:fs';

const out = process.env.MEMORY_PROBE_OUT;
const MB = 1024 * 1024;
const mb = (n) => Math.round(n / MB);

/** Resident MB by kind of mapping (anonymous: V8's heaps, PGlite's WebAssembly memory, large buffers). */
function mappings() {
  const kinds = { mallocHeap: 0, anonymous: 0, files: 0 };
  for (const m of readFileSync('/proc/self/smaps', 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const [, , , , , name = ''] = m.split('\n', 1)[0].split(/\s+/);
    const rss = Number(/^Rss:\s+(\d+)/m.exec(m)?.[1] ?? 0) * 1024;
    const kind = name === '[heap]' ? 'mallocHeap' : name ? 'files' : 'anonymous';
    kinds[kind] += rss;
  }
  return Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, mb(v)]));
}

if (out) {
  let peak = { rss: 0 };
  let lastMapped = 0;
  const sample = () => {
    const u = process.memoryUsage();
    if (u.rss > peak.rss) {
      peak = {
        rss: u.rss,
        heapTotal: u.heapTotal,
        heapUsed: u.heapUsed,
        external: u.external,
        arrayBuffers: u.arrayBuffers,
        at: Date.now(),
        mappings: peak.mappings,
      };
      if (u.rss > lastMapped + 20 * MB) {
        lastMapped = u.rss;
        peak.mappings = mappings();
      }
    }
  };
  setInterval(sample, 100).unref();
  // SIGUSR2: a full collection (when run with --expose-gc), then the live sizes, kept in `settled`.
  const settled = [];
  process.on('SIGUSR2', () => {
    sample();
    globalThis.gc?.();
    const u = process.memoryUsage();
    settled.push({
      rss: mb(u.rss),
      heapUsed: mb(u.heapUsed),
      external: mb(u.external),
      arrayBuffers: mb(u.arrayBuffers),
      mappings: mappings(),
    });
  });
  process.on('exit', () => {
    sample();
    writeFileSync(
      out,
      JSON.stringify({
        peakMB: Object.fromEntries(
          Object.entries(peak).map(([k, v]) => [k, typeof v === 'number' && k !== 'at' ? mb(v) : v]),
        ),
        settledMB: settled,
      }),
    );
  });
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.prependListener(signal, () => sample());
  }
}
