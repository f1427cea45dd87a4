import type { ImportedDecision } from '@lapi/application';

const COLUMNS = ['duration', 'origin', 'reason', 'scope', 'type', 'value'] as const;

/**
 * The lines of a `cscli decisions import` file. csv: a header naming any of duration, origin, reason, scope, type,
 * value (value required), comma-separated, double quotes allowed. json: an array of objects with those keys.
 * A file of bare values, one per line (a blocklist as published), is read as `value` lines.
 */
export function parseDecisionsFile(text: string, format: 'csv' | 'json' | 'values'): ImportedDecision[] {
  if (format === 'json') {
    const parsed: unknown = JSON.parse(text);
    if (!Array.isArray(parsed)) {
      throw new Error('a json import file holds an array of decisions');
    }
    return parsed.map((item: unknown, i) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        throw new Error(`item ${i + 1}: not an object`);
      }
      const o = item as Record<string, unknown>;
      return pick((k) => {
        const v = o[k];
        if (typeof v === 'string') {
          return v;
        }
        if (typeof v === 'number' || typeof v === 'boolean') {
          return String(v);
        }
        if (v !== undefined && v !== null) {
          throw new Error(`item ${i + 1}: ${k} is not a string`);
        }
        return undefined;
      });
    });
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  if (format === 'values') {
    return lines.map((l) => ({ value: l.trim() }));
  }
  const header = splitCsv(lines[0] ?? '').map((h) => h.trim().toLowerCase());
  const unknown = header.filter((h) => !(COLUMNS as readonly string[]).includes(h));
  if (unknown.length > 0 || !header.includes('value')) {
    throw new Error(
      `the csv header must name value and any of ${COLUMNS.join(', ')} (got: ${header.join(',') || 'nothing'})`,
    );
  }
  return lines.slice(1).map((line) => {
    const cells = splitCsv(line);
    return pick((k) => {
      const at = header.indexOf(k);
      return at === -1 ? undefined : cells[at]?.trim() || undefined;
    });
  });
}

/**
 * The format of an import: the one asked for, else the file name's; a text without a name (stdin) is json when it
 * starts with `[`, csv when its first line is a header of known columns, else values.
 */
export const formatOf = (path: string, explicit?: string, unnamed?: string): 'csv' | 'json' | 'values' => {
  if (explicit === 'csv' || explicit === 'json' || explicit === 'values') {
    return explicit;
  }
  if (unnamed !== undefined) {
    return sniffFormat(unnamed);
  }
  return path.endsWith('.json') ? 'json' : path.endsWith('.csv') ? 'csv' : 'values';
};

function sniffFormat(text: string): 'csv' | 'json' | 'values' {
  const start = text.trimStart();
  if (start.startsWith('[')) {
    return 'json';
  }
  const firstLine = start.split(/\r?\n/).find((l) => l.trim() !== '' && !l.startsWith('#')) ?? '';
  const header = splitCsv(firstLine).map((h) => h.trim().toLowerCase());
  return header.includes('value') && header.every((h) => (COLUMNS as readonly string[]).includes(h)) ? 'csv' : 'values';
}

const pick = (get: (k: string) => string | undefined): ImportedDecision => {
  const row: Record<string, string> = {};
  for (const k of COLUMNS) {
    const v = get(k);
    if (v !== undefined) {
      row[k] = v;
    }
  }
  return { ...row, value: row.value ?? '' };
};

/** One csv line: commas, and double-quoted cells with "" for a quote. */
function splitCsv(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') {
        quoted = false;
      } else {
        cell += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else {
      cell += ch;
    }
  }
  cells.push(cell);
  return cells;
}
