import type { DecisionInput } from '@lapi/domain';
import { ValidationError } from '@lapi/domain';
import { runInSlices } from '@lapi/event-store';
import { importDecisionsInSteps, MAX_PROBLEMS, type ImportedDecision, type ImportOptions } from './import-decisions';

/** An import sent in parts: what its parts carried so far. */
interface PendingImport {
  readonly options: ImportOptions;
  rows: number;
  readonly decisions: DecisionInput[];
  readonly problems: string[];
  expiry: NodeJS.Timeout;
}

// A client that stops sending (killed mid-import) leaves its parts here this long, then they are dropped.
const ABANDONED_AFTER_MS = 10 * 60_000;

/**
 * The parts of imports in progress (`lapi decisions import` sends a big file in parts so that it can show what was
 * accepted): each part is checked when it arrives, the whole is stored by commit() in one transaction as before,
 * so an import is still stored whole or not at all.
 */
export class ImportParts {
  private readonly pending = new Map<string, PendingImport>();

  constructor(private readonly abandonedAfterMs = ABANDONED_AFTER_MS) {}

  /** Checks and keeps one part; `at` is the number of rows sent before it. Resolves with the rows accepted so far. */
  async add(importId: string, at: number, rows: readonly ImportedDecision[], options: ImportOptions): Promise<number> {
    let p = this.pending.get(importId);
    if (!p) {
      if (at !== 0) {
        throw new ValidationError(`import ${importId}: unknown or abandoned (no part starting at row 1)`);
      }
      p = { options, rows: 0, decisions: [], problems: [], expiry: this.expire(importId) };
      this.pending.set(importId, p);
    } else {
      clearTimeout(p.expiry);
      p.expiry = this.expire(importId);
    }
    if (at !== p.rows) {
      throw new ValidationError(`import ${importId}: a part starts at row ${at + 1}, expected ${p.rows + 1}`);
    }
    const { decisions, problems } = await runInSlices(importDecisionsInSteps(rows, p.options, p.rows + 1));
    p.rows += rows.length;
    for (const d of decisions) {
      p.decisions.push(d);
    }
    p.problems.push(...problems.slice(0, MAX_PROBLEMS - p.problems.length));
    return p.rows;
  }

  /** The decisions of every part, forgotten here; refused whole if any line was unusable. */
  take(importId: string): DecisionInput[] {
    const p = this.pending.get(importId);
    if (!p) {
      throw new ValidationError(`import ${importId}: unknown or abandoned`);
    }
    clearTimeout(p.expiry);
    this.pending.delete(importId);
    if (p.problems.length > 0) {
      throw new ValidationError(`nothing imported: ${p.problems.join('; ')}`);
    }
    return p.decisions;
  }

  private expire(importId: string): NodeJS.Timeout {
    return setTimeout(() => this.pending.delete(importId), this.abandonedAfterMs).unref();
  }
}

/** This process's imports in progress (the server's, or the admin CLI's when it writes to the database itself). */
export const importParts = new ImportParts();
