import { loadProfiles, type ProfileEngine } from '@lapi/application';
import { applyProfiles } from '@lapi/domain';

/** profiles.yaml (or the reference's defaults) compiled once at start-up: a bad profile stops the server. */
export function createProfileEngine(path: string | undefined): ProfileEngine {
  const profiles = loadProfiles(path);
  return {
    decide: async (alert, stats, now) => (await applyProfiles(alert, profiles, stats, now)).decisions,
  };
}
