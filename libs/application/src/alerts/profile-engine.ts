import type { AlertInput, DecisionInput, DecisionStats } from '@lapi/domain';

export type { DecisionStats };

/** Decides the decisions of an alert that arrived without any (profiles.yaml). */
export interface ProfileEngine {
  decide(alert: AlertInput, stats: DecisionStats, now: Date): Promise<readonly DecisionInput[]>;
}

export const PROFILE_ENGINE = Symbol('PROFILE_ENGINE');
