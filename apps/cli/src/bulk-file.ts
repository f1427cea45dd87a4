import { readFileSync } from 'node:fs';
import { AdminError } from './admin-client';

/**
 * The lines of a bulk file (`-`: stdin), each split on blanks: `name [secret]`. Blank lines and `#` comments are
 * skipped; a line with more than two fields is refused, so a shifted column is never taken for a key.
 */
export function readEntries(file: string): [string, string | undefined][] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new AdminError('USAGE', `${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const entries: [string, string | undefined][] = [];
  const problems: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) {
      return;
    }
    const fields = line.split(/\s+/);
    if (fields.length > 2) {
      problems.push(`line ${i + 1}: expected "name [key or password]", got ${fields.length} fields`);
    }
    entries.push([fields[0], fields[1]]);
  });
  if (problems.length > 0) {
    throw new AdminError('USAGE', `${file}: nothing written: ${problems.slice(0, 20).join('; ')}`);
  }
  if (entries.length === 0) {
    throw new AdminError('USAGE', `${file}: no entries`);
  }
  return entries;
}
