import { DomainError } from '../shared/errors';

export class BouncerAlreadyExistsError extends DomainError {
  readonly code = 'BOUNCER.ALREADY_EXISTS';
  constructor(readonly bouncerName: string) {
    super(`bouncer '${bouncerName}' already exists`);
  }
}

export class BouncerNotFoundError extends DomainError {
  readonly code = 'BOUNCER.NOT_FOUND';
  constructor(readonly bouncerName: string) {
    super(`bouncer '${bouncerName}' does not exist`);
  }
}

export class BouncerKeyAlreadyUsedError extends DomainError {
  readonly code = 'BOUNCER.KEY_IN_USE';
  constructor() {
    super('this API key is already used by another bouncer');
  }
}

export class BouncerAuthTypeMismatchError extends DomainError {
  readonly code = 'BOUNCER.AUTH_TYPE_MISMATCH';
  constructor(readonly bouncerName: string) {
    super(`bouncer '${bouncerName}' isn't allowed to auth by TLS`);
  }
}
