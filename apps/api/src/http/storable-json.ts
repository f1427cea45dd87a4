import { storableText } from '@lapi/domain';
import type { Slicer } from '@lapi/event-store';

/**
 * Whether parsed JSON holds a string PostgreSQL cannot store (a NUL character, or a lone UTF-16 surrogate, which
 * jsonb refuses), as a value or as a key. One pass after JSON.parse, with a stack rather than recursion: a reviver
 * (a call per node during the parse) cost more than the parse itself on large bodies. Pauses between slices when
 * given a slicer (a big body has hundreds of thousands of nodes).
 */
export async function unstorableString(json: unknown, slicer?: Slicer): Promise<boolean> {
  const pending: unknown[] = [json];
  while (pending.length > 0) {
    const value = pending.pop();
    if (typeof value === 'string') {
      if (!storableText(value)) {
        return true;
      }
    } else if (Array.isArray(value)) {
      for (const item of value) {
        pending.push(item);
      }
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        if (!storableText(key)) {
          return true;
        }
        pending.push(item);
      }
    }
    if (slicer?.due()) {
      await slicer.pause();
    }
  }
  return false;
}
