import type { AlertInput, DecisionInput } from '@lapi/domain';

/** What the decision helpers of profile expressions ask the read model (GetDecisionsCount & co). */
export interface DecisionStats {
  decisionsCount(value: string): Promise<number>;
  decisionsSinceCount(value: string, since: string): Promise<number>;
  activeDecisionsCount(value: string): Promise<number>;
  activeDecisionsTimeLeftMs(value: string): Promise<number>;
}

/** Decides the decisions of an alert that arrived without any (profiles.yaml). */
export interface ProfileEngine {
  decide(alert: AlertInput, stats: DecisionStats, now: Date): Promise<(DecisionInput & { simulated?: boolean })[]>;
}

export const PROFILE_ENGINE = Symbol('PROFILE_ENGINE');
