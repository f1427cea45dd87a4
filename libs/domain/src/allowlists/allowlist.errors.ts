import { DomainError } from '../shared/errors';

export class AllowlistNotFoundError extends DomainError {
  readonly code = 'ALLOWLIST.NOT_FOUND';
  constructor(readonly allowlistName: string) {
    super(`allowlist '${allowlistName}' not found`); // pkg/database/allowlists.go GetAllowList
  }
}

export class AllowlistAlreadyExistsError extends DomainError {
  readonly code = 'ALLOWLIST.ALREADY_EXISTS';
  constructor(readonly allowlistName: string) {
    super(`allowlist '${allowlistName}' already exists`); // pkg/database/allowlists.go CreateAllowList
  }
}

/** A value that is neither an IP nor a CIDR range (the reference answers 500; a client's mistake is a 400 here). */
export class InvalidAllowlistValueError extends DomainError {
  readonly code = 'ALLOWLIST.INVALID_VALUE';
  constructor(readonly value: string) {
    super(`unable to parse value '${value}': not an IP address or a CIDR range`);
  }
}

/** `lapi decisions add` on an allowlisted value (cscli ≥1.6.6 checks the allowlists before adding). */
export class AllowlistedValueError extends DomainError {
  readonly code = 'ALLOWLIST.ALLOWLISTED';
  constructor(
    readonly value: string,
    readonly reason: string,
  ) {
    super(`${value} is allowlisted by item ${reason}`);
  }
}
