import { DomainError } from '../shared/errors';

/** profiles.yaml cannot be used: the reference LAPI refuses to start on these. */
export class ProfileConfigError extends DomainError {
  readonly code = 'PROFILE.CONFIG';
}

/**
 * A filter failed on an alert whose profile has no `on_error`: the reference answers POST /v1/alerts with a 500 whose
 * message is this error's (`while running expression <filter>: <cause>`), and stores nothing.
 */
export class ProfileEvaluationError extends DomainError {
  readonly code = 'PROFILE.EVALUATION';
}
