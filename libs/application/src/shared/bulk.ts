import { ValidationError } from '@lapi/domain/shared/errors';

const MAX_PROBLEMS_SHOWN = 20;

/** A bulk write refuses its whole list on any problem, naming the first ones (by entry, 1-based). */
export function refuseOn(problems: readonly string[]): void {
  if (problems.length > 0) {
    const more = problems.length > MAX_PROBLEMS_SHOWN ? ` (and ${problems.length - MAX_PROBLEMS_SHOWN} more)` : '';
    throw new ValidationError(`nothing written: ${problems.slice(0, MAX_PROBLEMS_SHOWN).join('; ')}${more}`);
  }
}
