/** Base of every domain error: a stable code that the HTTP layer maps to the reference's status and body. */
export abstract class DomainError extends Error {
  abstract readonly code: string;
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
