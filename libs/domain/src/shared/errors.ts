/**
 * Every domain error's code: the HTTP layer maps each to a status in one table (apps/api/src/http/lapi-exception.filter.ts,
 * typed by this union, so a new code does not compile until it has its status).
 */
export type DomainErrorCode =
  | 'ALERT.INVALID'
  | 'ALERT.NOT_FOUND'
  | 'ALLOWLIST.ALLOWLISTED'
  | 'ALLOWLIST.ALREADY_EXISTS'
  | 'ALLOWLIST.INVALID_VALUE'
  | 'ALLOWLIST.NOT_FOUND'
  | 'BOUNCER.ALREADY_EXISTS'
  | 'BOUNCER.AUTH_TYPE_MISMATCH'
  | 'BOUNCER.KEY_IN_USE'
  | 'BOUNCER.NOT_FOUND'
  | 'DECISION.INVALID'
  | 'DECISION.NOT_FOUND'
  | 'EXPR.COMPILE'
  | 'EXPR.RUNTIME'
  | 'EXPR.UNSUPPORTED'
  | 'ILLEGAL_STATE'
  | 'MACHINE.ALREADY_EXISTS'
  | 'MACHINE.AUTH_TYPE_MISMATCH'
  | 'MACHINE.AUTO_REGISTRATION_REFUSED'
  | 'MACHINE.INVALID_CREDENTIALS'
  | 'MACHINE.INVALID_REGISTRATION'
  | 'MACHINE.NOT_FOUND'
  | 'MACHINE.NOT_VALIDATED'
  | 'NOTIFICATION.CONFIG'
  | 'NOTIFICATION.TEMPLATE_EXEC'
  | 'NOTIFICATION.TEMPLATE_PARSE'
  | 'PROFILE.CONFIG'
  | 'PROFILE.EVALUATION'
  | 'VALIDATION';

/** Base of every domain error: a stable code that the HTTP layer maps to the reference's status and body. */
export abstract class DomainError extends Error {
  abstract readonly code: DomainErrorCode;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A command was rejected because of the state it met (the reference answers 4xx for these). */
export class IllegalStateError extends DomainError {
  readonly code = 'ILLEGAL_STATE';
}

export class ValidationError extends DomainError {
  readonly code = 'VALIDATION';
}

export const assertNever = (value: never): never => {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
};
