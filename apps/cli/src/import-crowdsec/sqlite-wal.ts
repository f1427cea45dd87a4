// sql.js reads a database from a byte array and has no file system we can hand a `-wal` file to. A CrowdSec that
// runs with `use_wal: true` (the packaged default since 1.5) keeps its latest writes in `<db>-wal` until a
// checkpoint, so the import folds the committed frames of that file into the bytes it opens, as SQLite's own
// recovery does (https://www.sqlite.org/fileformat2.html#walformat), and never writes to the source.

const WAL_HEADER = 32;
const FRAME_HEADER = 24;
const MAGIC_LE = 0x377f0682;
const MAGIC_BE = 0x377f0683;

/**
 * The database file with the WAL's committed transactions applied, in rollback-journal mode so that a reader with
 * no WAL opens it as is. A WAL that is empty, not one, or of an earlier generation leaves the file unchanged.
 */
export function applyWal(db: Uint8Array, wal: Uint8Array | undefined): Uint8Array {
  if (!wal || wal.length < WAL_HEADER) {
    return legacyMode(db);
  }
  const view = new DataView(wal.buffer, wal.byteOffset, wal.byteLength);
  const magic = view.getUint32(0);
  if (magic !== MAGIC_LE && magic !== MAGIC_BE) {
    return legacyMode(db);
  }
  const bigEndian = magic === MAGIC_BE;
  const pageSize = view.getUint32(8);
  const salt1 = view.getUint32(16);
  const salt2 = view.getUint32(20);
  let [s0, s1] = checksum(view, 0, 24, bigEndian, 0, 0);
  if (s0 !== view.getUint32(24) || s1 !== view.getUint32(28)) {
    return legacyMode(db);
  }
  const pages = new Map<number, Uint8Array>();
  const pending: [number, Uint8Array][] = [];
  let dbPages = 0;
  for (let at = WAL_HEADER; at + FRAME_HEADER + pageSize <= wal.length; at += FRAME_HEADER + pageSize) {
    if (view.getUint32(at + 8) !== salt1 || view.getUint32(at + 12) !== salt2) {
      break; // a frame left over from before the last checkpoint
    }
    [s0, s1] = checksum(view, at, 8, bigEndian, s0, s1);
    [s0, s1] = checksum(view, at + FRAME_HEADER, pageSize, bigEndian, s0, s1);
    if (s0 !== view.getUint32(at + 16) || s1 !== view.getUint32(at + 20)) {
      break; // torn write: what follows was never committed
    }
    pending.push([view.getUint32(at), wal.subarray(at + FRAME_HEADER, at + FRAME_HEADER + pageSize)]);
    const commitSize = view.getUint32(at + 4);
    if (commitSize !== 0) {
      for (const [page, data] of pending) {
        pages.set(page, data);
      }
      pending.length = 0;
      dbPages = commitSize;
    }
  }
  if (dbPages === 0) {
    return legacyMode(db);
  }
  const out = new Uint8Array(dbPages * pageSize);
  out.set(db.subarray(0, Math.min(db.length, out.length)));
  for (const [page, data] of pages) {
    if (page >= 1 && page <= dbPages) {
      out.set(data, (page - 1) * pageSize);
    }
  }
  return legacyMode(out);
}

/** Header bytes 18-19 (write and read versions) to 1: a reader opens the bytes without looking for a WAL. */
function legacyMode(db: Uint8Array): Uint8Array {
  if (db.length >= 20 && (db[18] === 2 || db[19] === 2)) {
    const copy = new Uint8Array(db);
    copy[18] = 1;
    copy[19] = 1;
    return copy;
  }
  return db;
}

function checksum(
  view: DataView,
  from: number,
  length: number,
  bigEndian: boolean,
  s0: number,
  s1: number,
): [number, number] {
  for (let i = from; i < from + length; i += 8) {
    s0 = (s0 + view.getUint32(i, !bigEndian) + s1) >>> 0;
    s1 = (s1 + view.getUint32(i + 4, !bigEndian) + s0) >>> 0;
  }
  return [s0, s1];
}
