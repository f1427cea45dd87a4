import type { ProfileEngine } from '@lapi/application';

// TEMPORARY until the profiles evaluator lands.
export function createProfileEngine(_path: string | undefined): ProfileEngine {
  return { decide: () => Promise.resolve([]) };
}
