import type { AlertInput, AlertNotify, DecisionInput, DecisionStats } from '@lapi/domain';

export type { DecisionStats };

/** profiles.yaml: the decisions of an alert that arrived without any, and whom to notify. */
export interface ProfileEngine {
  /**
   * An alert with decisions keeps them; the profiles then only decide its notifications, so the handler skips
   * the evaluation for such alerts when `notifies` is false.
   */
  evaluate(
    alert: AlertInput,
    stats: DecisionStats,
    now: Date,
  ): Promise<{ decisions: readonly DecisionInput[]; notify?: AlertNotify }>;
  /** True when some profile names notification plugins. */
  readonly notifies: boolean;
}

export const PROFILE_ENGINE = Symbol('PROFILE_ENGINE');
