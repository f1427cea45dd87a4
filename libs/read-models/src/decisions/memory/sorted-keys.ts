/** Keys that compare with `<`: IPv4 addresses and seconds as numbers, IPv6 addresses as fixed-width hex. */
export type OrderedKey = number | string;

// Chunks of at most 2 × CHUNK keys: an insert or delete moves at most one chunk (≤ 1,024 slots) instead of the
// whole array, and a lookup is two binary searches. At 1M keys that is ~2,000 chunks.
const CHUNK = 512;

/**
 * A sorted set of keys for range scans, kept beside a Map that owns the keys. It is built from that Map the first
 * time a range is asked for (a bulk load is one sort, not a million inserts) and kept up to date from then on.
 */
export class SortedKeys<K extends OrderedKey> {
  private chunks: K[][] | null = null;

  constructor(private readonly source: () => Iterable<K>) {}

  add(key: K): void {
    const chunks = this.chunks;
    if (!chunks) {
      return;
    }
    if (chunks.length === 0) {
      chunks.push([key]);
      return;
    }
    const c = Math.min(firstChunkEndingAtOrAfter(chunks, key), chunks.length - 1);
    const chunk = chunks[c];
    const i = lowerBound(chunk, key);
    if (chunk[i] === key) {
      return;
    }
    chunk.splice(i, 0, key);
    if (chunk.length > 2 * CHUNK) {
      chunks.splice(c, 1, chunk.slice(0, CHUNK), chunk.slice(CHUNK));
    }
  }

  delete(key: K): void {
    const chunks = this.chunks;
    if (!chunks) {
      return;
    }
    const c = firstChunkEndingAtOrAfter(chunks, key);
    if (c === chunks.length) {
      return;
    }
    const chunk = chunks[c];
    const i = lowerBound(chunk, key);
    if (chunk[i] !== key) {
      return;
    }
    chunk.splice(i, 1);
    if (chunk.length === 0) {
      chunks.splice(c, 1);
    }
  }

  /** Forgets the order: the next range rebuilds it from the source. */
  reset(): void {
    this.chunks = null;
  }

  /** Keys in [lo, hi], in order. */
  *range(lo: K, hi: K): Generator<K> {
    const chunks = this.build();
    const first = firstChunkEndingAtOrAfter(chunks, lo);
    for (let c = first; c < chunks.length; c++) {
      const chunk = chunks[c];
      for (let i = c === first ? lowerBound(chunk, lo) : 0; i < chunk.length; i++) {
        if (chunk[i] > hi) {
          return;
        }
        yield chunk[i];
      }
    }
  }

  private build(): K[][] {
    if (!this.chunks) {
      const keys = [...this.source()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      this.chunks = [];
      for (let i = 0; i < keys.length; i += CHUNK) {
        this.chunks.push(keys.slice(i, i + CHUNK));
      }
    }
    return this.chunks;
  }
}

function firstChunkEndingAtOrAfter<K extends OrderedKey>(chunks: K[][], key: K): number {
  let lo = 0;
  let hi = chunks.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const chunk = chunks[mid];
    if (chunk[chunk.length - 1] < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

function lowerBound<K extends OrderedKey>(keys: K[], key: K): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < key) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}
