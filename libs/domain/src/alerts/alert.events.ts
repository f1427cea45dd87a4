import type { DomainEvent } from '../shared/event';
import type { AlertInput, DecisionInput } from './alert';

/** A decision as stored: its id, and `until` fixed once from the alert's stop_at plus the duration. */
export interface StoredDecision {
  readonly id: number;
  readonly uuid: string;
  readonly origin: string;
  readonly type: string;
  readonly scope: string;
  readonly value: string;
  readonly scenario: string;
  /** Taken from the alert, not from the decision object (reference). */
  readonly simulated: boolean;
  /** ISO-8601. */
  readonly until: string;
}

export type AlertReceived = DomainEvent<
  'AlertReceived',
  {
    alertId: number;
    uuid: string;
    machineId: string;
    createdAt: string;
    alert: Omit<AlertInput, 'decisions'>;
    decisions: StoredDecision[];
    /** Absent when no profile with notifications matched. */
    notify?: AlertNotify;
  }
>;

/**
 * What the profiles said to notify about an alert, recorded with it so the worker delivers it from the log. The
 * decisions are the ones the reference hands its plugins (as posted or as the profile made them, before storage).
 */
export interface AlertNotify {
  /** Each matching profile that names plugins, in order; a plugin named twice gets the alert twice (reference). */
  readonly profiles: readonly {
    readonly name: string;
    readonly plugins: readonly string[];
    /** False for a profile that matched before any decision was made: it sends the alert without decisions. */
    readonly withDecisions: boolean;
  }[];
  readonly decisions: readonly (DecisionInput & { readonly simulated?: boolean })[];
}

/** Decisions expired early (`until := at`): bouncers see them in the stream's `deleted`. */
export type DecisionsDeleted = DomainEvent<'DecisionsDeleted', { decisionIds: number[]; at: string }>;

/** Decisions whose `until` passed, recorded by the expiry sweep so the log tells when each ban ended. */
export type DecisionsExpired = DomainEvent<'DecisionsExpired', { decisionIds: number[]; at: string }>;

/** Alerts removed with their decisions; unlike the reference, the still-active decisions reach `deleted` too. */
export type AlertsDeleted = DomainEvent<'AlertsDeleted', { alertIds: number[]; at: string }>;

// The events above that are not decided by an aggregate (they span many alerts) are still built only here.
export const decisionsDeleted = (decisionIds: number[], at: Date): DecisionsDeleted => ({
  type: 'DecisionsDeleted',
  data: { decisionIds, at: at.toISOString() },
});

export const decisionsExpired = (decisionIds: number[], at: Date): DecisionsExpired => ({
  type: 'DecisionsExpired',
  data: { decisionIds, at: at.toISOString() },
});

export const alertsDeleted = (alertIds: number[], at: Date): AlertsDeleted => ({
  type: 'AlertsDeleted',
  data: { alertIds, at: at.toISOString() },
});

export type DecisionLogEvent = AlertReceived | DecisionsDeleted | AlertsDeleted | DecisionsExpired;

export const ALERT_EVENT_TYPES: readonly DecisionLogEvent['type'][] = [
  'AlertReceived',
  'DecisionsDeleted',
  'AlertsDeleted',
  'DecisionsExpired',
];

export const alertStreamId = (alertId: number): string => `alert-${alertId}`;
/** Deletions span many alerts: they go to one stream each, appended with no expected version. */
export const DECISION_DELETIONS_STREAM = 'decision-deletions';
export const ALERT_DELETIONS_STREAM = 'alert-deletions';
export const DECISION_EXPIRIES_STREAM = 'decision-expiries';
