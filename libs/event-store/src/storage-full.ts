// PostgreSQL's disk_full: a table, index or WAL file could not grow. PGlite raises it too, from the ENOSPC of its
// file system. ENOSPC/EDQUOT themselves come from the files the server writes outside the database.
const DISK_FULL_SQLSTATE = '53100';
const NO_SPACE_ERRNOS = new Set(['ENOSPC', 'EDQUOT']);
const MAX_CAUSES = 5;

/** True when the error (or one it was caused by) says the disk or the quota is full. */
export function isStorageFull(error: unknown): boolean {
  let current = error;
  for (let depth = 0; depth < MAX_CAUSES && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === DISK_FULL_SQLSTATE || (typeof code === 'string' && NO_SPACE_ERRNOS.has(code))) {
      return true;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
